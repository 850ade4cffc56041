"""Read-along files of a chapter (--captions): `NN - title.vtt`, `.srt` and `.chapters.json`
beside its audio, timed from the audio as synthesized: each segment starts where the assembled
chapter put it, each sentence inside it at its pause (sound/timing.py)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from urllib.parse import quote

from ..casting.config import ROLES  # readers that are no one in particular: cues name nobody
from ..files import write_if_changed
from ..model import HEADING
from ..publish.captions import Cue, json_chapters, segment_cues, sentences, spoken_starts, srt, tidy, vtt
from ..publish.feed import COVER_NAME
from ..sound import assemble
from ..sound.pcmfile import read_marks
from ..sound.synthesize import cache_path
from ..sound.timing import sentence_starts
from .plan import ChapterPlan

CAPTIONS_VERSION = 2
KINDS = {"vtt": ".vtt", "srt": ".srt", "chapters": ".chapters.json"}


def captions_hash(cp: ChapterPlan, starts: list[int]) -> str:
    blob = json.dumps([CAPTIONS_VERSION, cp.chapter.title, [p.key for p in cp.segments], starts,
                       [(p.segment.text, p.reader, p.segment.pause_after) for p in cp.segments]])
    return hashlib.sha256(blob.encode()).hexdigest()[:40]


def caption_names(cp: ChapterPlan) -> dict[str, str]:
    stem = Path(cp.filename).stem
    return {kind: stem + suffix for kind, suffix in KINDS.items()}


def timed(cp: ChapterPlan, record) -> bool:
    """The record knows where each of the plan's segments starts (an older audiofic's does not)."""
    return len(record.starts) == len(cp.segments) + 2  # each segment, then the tail, then the end


def captions_current(cp: ChapterPlan, record, out_dir: Path) -> bool:
    wanted = caption_names(cp)
    return (bool(record.starts) and record.captions.get("hash") == captions_hash(cp, record.starts)
            and all(record.captions.get(k) == v and (out_dir / v).is_file() for k, v in wanted.items()))


def chapter_cues(cp: ChapterPlan, cache: Path, starts: list[int], seconds: float) -> tuple[list[Cue], list[float]]:
    """The chapter's cues, and the times at which its scenes after the first begin."""
    cues = []
    for _i, p, parts, times, end in sentence_times(cp, cache, starts):
        speaker = None if p.reader in ROLES or p.segment.kind == HEADING else p.reader
        cues += segment_cues(parts, times, end, speaker)
    scenes = [starts[i] / assemble.SAMPLE_RATE for i in range(1, len(cp.segments))
              if cp.segments[i - 1].segment.pause_after == "scene"]
    return tidy(cues, seconds), scenes


def sentence_times(cp: ChapterPlan, cache: Path, starts: list[int]):
    """For each segment with words: (segment, its sentences, their starts, its end), in seconds
    of the chapter file."""
    rate = assemble.SAMPLE_RATE
    for i, p in enumerate(cp.segments):
        parts = sentences(p.segment.text)
        if not parts:
            continue
        entry = cache_path(cache, p.key)
        pcm = assemble.segment_pcm(entry)
        begin = starts[i] / rate
        known = marked(spoken_starts(parts, p.speech), read_marks(entry)) if len(parts) > 1 else None
        offsets = sentence_starts(pcm, rate, [len(s) for s in parts], known)
        yield i, p, parts, [begin + o for o in offsets], begin + len(pcm) / (2 * rate)


def marked(offsets: list[int | None], marks: list[tuple[int, float]], reach: int = 2) -> list[float | None]:
    """Each sentence's start from the engine's marks: the mark at its first word (or at the
    quote or bracket just before it), when the engine left one there."""
    out: list[float | None] = []
    for offset in offsets:
        near = [(abs(char - offset), seconds) for char, seconds in marks if offset is not None and abs(char - offset) <= reach]
        out.append(min(near)[1] if near else None)
    return out


def write_captions(cp: ChapterPlan, out_dir: Path, cache: Path, starts: list[int], seconds: float,
                   base_url: str, old: dict | None = None) -> dict[str, str]:
    """Write the chapter's read-along files; returns what the manifest records of them."""
    cues, scenes = chapter_cues(cp, cache, starts, seconds)
    names = caption_names(cp)
    cover = base_url.rstrip("/") + "/" + quote(COVER_NAME) if base_url else None
    texts = {"vtt": vtt(cues, cp.chapter.title), "srt": srt(cues),
             "chapters": json_chapters(cp.chapter.title, scenes, cover)}
    for kind, name in names.items():
        write_if_changed(out_dir / name, texts[kind].encode("utf-8"))
    remove_captions(out_dir, {k: v for k, v in (old or {}).items() if v != names.get(k)})  # a title changed
    return {**names, "hash": captions_hash(cp, starts)}


def remove_captions(out_dir: Path, recorded: dict[str, str]) -> None:
    for kind, name in recorded.items():
        if kind in KINDS:
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()
