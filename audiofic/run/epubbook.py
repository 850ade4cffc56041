"""--format epub3: the work as one EPUB 3 whose text plays along with its chapters' MP3s (Media
Overlays), built after the chapters and again only when something in it changed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import warnings
from pathlib import Path

from ..files import atomic_write
from ..model import DIALOGUE, HEADING
from ..publish.epub3 import Block, EpubChapter, Span, write_epub
from ..publish.feed import COVER_NAME, base_time, identity_key
from ..publish.library import STATE_DIR
from ..publish.tag import safe_filename
from .job import Run
from .readalong import captions_hash, sentence_times, timed

EPUB_VERSION = 2  # 2: clock values as HH:MM:SS.mmm
RECORD = "epub3.json"


def epub_path(run: Run) -> Path:
    return run.out_dir / (safe_filename(run.ready.work.title) + ".epub")


def chapter_blocks(cp, cache: Path, starts: list[int], seconds: float) -> list[Block]:
    """The chapter as read: headings, paragraphs of sentence spans, scene breaks; each span's
    clip runs from its sentence's start to the next one's, never back in time."""
    blocks: list[Block] = []
    paragraph, last_end = None, 0.0
    for _i, p, parts, times, end in sentence_times(cp, cache, starts):
        seg = p.segment
        if seg.kind == HEADING or paragraph != seg.paragraph or not blocks or blocks[-1].kind != "paragraph":
            blocks.append(Block("heading" if seg.kind == HEADING else "paragraph"))
        paragraph = None if seg.kind == HEADING else seg.paragraph
        reader = p.reader if seg.kind == DIALOGUE else "narrator"
        bounds = times[1:] + [end]
        for j, text in enumerate(parts):
            start = max(times[j], last_end)
            stop = min(max(bounds[j], start + 0.01), seconds)
            quote = seg.kind == DIALOGUE
            blocks[-1].spans.append(Span(text, reader, start, stop, before="“" if quote and j == 0 else "",
                                         after="”" if quote and j == len(parts) - 1 else ""))
            last_end = stop
        if seg.pause_after == "scene":
            blocks.append(Block("scene"))
    return blocks


def build_epub(run: Run) -> None:
    """Write the EPUB when every chapter has its MP3 and nothing it holds has changed since."""
    chapters, missing, keys = [], [], []
    for cp in run.ready.plan.chapters:
        record = run.manifest.get(cp.chapter.number)
        name = (getattr(record, "files", None) or {}).get("mp3")
        if not name or not (run.out_dir / name).is_file() or not timed(cp, record):
            missing.append(cp.chapter.number)
            continue
        chapters.append((cp, record, run.out_dir / name))
        keys.append([record.audio, captions_hash(cp, record.starts)])
    if missing:
        warnings.warn(f"the EPUB waits for chapters {', '.join(map(str, missing))}: render them and it is written")
        return
    work, cover = run.ready.work, run.out_dir / COVER_NAME
    cover_bytes = cover.read_bytes() if cover.is_file() else None
    identity = identity_key(run.identity)
    meta = [work.title, work.authors, work.language, work.summary, work.fandoms, work.relationships,
            work.characters, work.tags, work.url]
    digest = hashlib.sha256(json.dumps([EPUB_VERSION, meta, keys, identity, hashlib.sha256(
        cover_bytes or b"").hexdigest()], ensure_ascii=False, default=str).encode()).hexdigest()
    path, record_path = epub_path(run), run.out_dir / STATE_DIR / RECORD
    if path.is_file() and _recorded(record_path) == {"file": path.name, "hash": digest}:
        return
    built = [EpubChapter(cp.chapter.number, cp.chapter.title, audio,
                         chapter_blocks(cp, run.cache, record.starts, record.seconds))
             for cp, record, audio in chapters]
    modified = base_time(dataclasses.replace(work, published=work.updated or work.published),
                         run.manifest.first_render())  # the work's last update: the same bytes each build
    write_epub(path, work, identity, built, cover_bytes, modified)
    old = _recorded(record_path).get("file")
    if old and old != path.name:
        (run.out_dir / old).unlink(missing_ok=True)
    atomic_write(record_path, json.dumps({"file": path.name, "hash": digest}))


def _recorded(path: Path) -> dict:
    try:
        data = json.loads(path.read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}

