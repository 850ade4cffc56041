"""A chapter's files: encoded from its cached segments, tagged, renamed into place, and
recorded in the manifest (`ChapterRecord`); or, when only its tags changed, retagged."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import os
from pathlib import Path
from typing import Callable, Iterator

from ..errors import AudioficError
from ..files import fresh, partial_name
from ..publish.formats import FORMATS
from ..publish.tag import Cover, Tags
from ..sound import assemble
from ..sound.levels import encode_to_target
from ..sound.synthesize import cache_path, drop_spare
from .job import Run
from .plan import ChapterPlan
from .readalong import captions_current, remove_captions, timed, write_captions
from .state import ChapterRecord


def chapter_parts(cp: ChapterPlan, cache: Path, pending: dict[str, cf.Future] | None = None) -> Iterator:
    """(cached WAV, pause after it, gain) for each segment, waiting for those still being made."""
    for p, ms, gain in zip(cp.segments, cp.pause_ms, cp.gains):
        if pending and p.key in pending:
            pending[p.key].result()
        yield cache_path(cache, p.key), ms, gain


def _marks(cp: ChapterPlan, positions: list[int]) -> list[tuple[str, str, int, int]]:
    """CHAP frames for one chapter file: its head (room tone and title), text and end."""
    ms = [round(x * 1000 / assemble.SAMPLE_RATE) for x in positions]
    # positions: start of each segment, then start of the tail, then the end of the file
    first_text = next((i for i, p in enumerate(cp.segments) if p.segment.kind != "heading"), len(cp.segments))
    text_start, tail_start, end = ms[first_text], ms[-2], ms[-1]
    # Ids sort in time order: mutagen writes frames sorted, and some readers list them as stored.
    return [("0-head", cp.chapter.title, 0, text_start), ("1-text", cp.chapter.title, text_start, tail_start),
            ("2-end", "End", tail_start, end)]


def encode_chapter_files(cp: ChapterPlan, out_dir: Path, cache: Path, cover: Cover,
                         pending: dict[str, cf.Future] | None = None,
                         cancelled: Callable[[], bool] = lambda: False) -> tuple[float, list, list[int]]:
    """Encode and tag one chapter's files, each under a temporary name renamed into place.
    Segments still being synthesized are awaited in turn, so encoding follows synthesis."""
    outputs = [(fmt, out_dir / name) for fmt, name in cp.filenames.items()]
    positions: list[int] = []

    def pcm(marks=None):
        for chunk in assemble.chapter_pcm(chapter_parts(cp, cache, pending), cp.head_ms, cp.tail_ms, marks):
            if cancelled():
                raise AudioficError("render interrupted")
            yield chunk

    temps = [(fmt, fresh(partial_name(final))) for fmt, final in outputs]
    try:
        seconds = encode_to_target(pcm, temps, cp.level_gain, cp.loudness, positions=positions)
        marks = _marks(cp, positions)
        for fmt, tmp in temps:
            FORMATS[fmt].write_tags(tmp, cp.tags, cover, marks)
        for (_fmt, tmp), (_fmt2, final) in zip(temps, outputs):
            os.replace(tmp, final)
    except BaseException:
        for _fmt, tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    finally:
        for p in cp.segments:  # heard twice (measured, then encoded): now only the FLAC is kept
            drop_spare(cache, p.key)
    return seconds, marks, positions


def record_chapter(cp: ChapterPlan, run: Run, seconds: float, marks: list, starts: list[int]) -> None:
    """The manifest entry of a chapter just written (and its read-along files, with --captions);
    files it had under other names go."""
    old = run.manifest.get(cp.chapter.number)
    for name in (old.files if old else {}).values():
        if name not in cp.filenames.values():
            with contextlib.suppress(FileNotFoundError):
                (run.out_dir / name).unlink()
    captions = old.captions if old else {}
    if run.options.captions:
        captions = write_captions(cp, run.out_dir, run.cache, starts, seconds, run.base_url, captions)
    else:  # read-along files timed to the audio this replaces would be out of step
        remove_captions(run.out_dir, captions)
    run.manifest.set(cp.chapter.number, ChapterRecord(
        files=cp.filenames, title=cp.chapter.title, audio=cp.audio_hash, tags=cp.tags.as_dict(),
        segments=[p.key for p in cp.segments], pauses=cp.pause_ms, gains=cp.gains,
        chains={fmt: cp.chain(fmt) for fmt in cp.filenames}, marks=[list(m) for m in marks], seconds=seconds,
        starts=list(starts), captions=captions if run.options.captions else {}))


def caption_if_needed(cp: ChapterPlan, record: ChapterRecord, run: Run) -> bool:
    """A current chapter's read-along files, written where they are missing or out of date;
    False when its record cannot time them (an older audiofic's): the chapter is made again."""
    if not run.options.captions or captions_current(cp, record, run.out_dir):
        return True
    if not timed(cp, record):
        return False
    captions = write_captions(cp, run.out_dir, run.cache, record.starts, record.seconds, run.base_url,
                              record.captions)
    run.manifest.set(cp.chapter.number, dataclasses.replace(record, captions=captions))
    return True


def files_current(cp: ChapterPlan, record: ChapterRecord, out_dir: Path, audio: bool = True) -> bool:
    """The chapter's files are there under the names the plan gives (and, with `audio`, hold
    what the plan would make)."""
    if audio and record.audio != cp.audio_hash:
        return False
    return record.files == cp.filenames and all((out_dir / name).exists() for name in record.files.values())


def retag_if_changed(cp: ChapterPlan, record: ChapterRecord, run: Run) -> None:
    """Tags only (a new track total, say): written in place, the audio left as it is."""
    if record.tags != cp.tags.as_dict():
        marks = [tuple(m) for m in record.marks]
        for fmt, name in record.files.items():
            write_tags_in_place(run.out_dir / name, fmt, cp.tags, run.cover, marks)
        run.manifest.set(cp.chapter.number, dataclasses.replace(record, tags=cp.tags.as_dict()))
        run.report.retagged += 1


def write_tags_in_place(path: Path, fmt: str, tags: Tags, cover: Cover | None = None, marks=None) -> None:
    """Retag without re-encoding; via a temporary copy so a kill never leaves a broken file."""
    tmp = fresh(partial_name(path))
    with open(path, "rb") as src, open(tmp, "xb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    FORMATS[fmt].write_tags(tmp, tags, cover, marks)
    os.replace(tmp, path)
