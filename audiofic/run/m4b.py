"""The whole work as one M4B with a chapter mark per chapter (QuickTime and Nero), made from
the segments the chapters' render put in the cache, and its manifest entry (`M4bRecord`)."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
from pathlib import Path

from ..files import fresh, partial_name
from ..publish.formats import FORMATS
from ..sound import assemble
from ..sound.levels import encode_to_target
from ..sound.synthesize import cache_path, wav_duration
from .chapters import chapter_parts, write_tags_in_place
from .job import Run
from .plan import Plan
from .state import M4bRecord


def m4b_name(slug: str) -> str:
    return f"{slug}.{FORMATS['m4b'].extension}"


def m4b_wanted(run: Run) -> bool:
    return "m4b" in run.options.formats and run.ready.selected is None


def m4b_current(run: Run) -> bool:
    record = run.manifest.get("m4b")
    return bool(not run.options.force and record and record.audio == _m4b_hash(run.ready.plan)
                and (run.out_dir / record.file).exists())


def _chapter_map(the_plan: Plan, cache: Path) -> str:
    """FFMETADATA with one chapter per chapter, from the cached segments' lengths."""
    starts, position = [], 0
    for cp in the_plan.chapters:
        starts.append(position)
        frames = sum(round(wav_duration(cache_path(cache, p.key)) * assemble.SAMPLE_RATE) for p in cp.segments)
        position += frames + round(assemble.SAMPLE_RATE * (sum(cp.pause_ms) + cp.head_ms + cp.tail_ms) / 1000)
    meta = [";FFMETADATA1"]
    for cp, start, stop in zip(the_plan.chapters, starts, starts[1:] + [position]):
        title = re.sub(r"([=;#\\\n])", r"\\\1", cp.chapter.title)
        meta += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start * 1000 // assemble.SAMPLE_RATE}",
                 f"END={stop * 1000 // assemble.SAMPLE_RATE}", f"title={title}"]
    return "\n".join(meta) + "\n"


def render_m4b(run: Run) -> None:
    """Write the M4B (or only retag it when its audio is current)."""
    the_plan = run.ready.plan
    final = run.out_dir / m4b_name(the_plan.slug)
    album_tags = the_plan.chapters[0].tags
    record = run.manifest.get("m4b")
    has_chapter_files = any(cp.filenames for cp in the_plan.chapters)
    report = run.report
    if m4b_current(run):
        if record.tags != album_tags.as_dict():
            write_tags_in_place(final, "m4b", album_tags, run.cover)
            run.manifest.set("m4b", dataclasses.replace(record, tags=album_tags.as_dict()))
        report.m4b = "unchanged"
        report.audio_seconds += 0 if has_chapter_files else record.seconds
        return
    meta_path = fresh(partial_name(run.out_dir / "chapters.ffmeta"))
    meta_path.write_text(_chapter_map(the_plan, run.cache), "utf-8")
    tmp = fresh(partial_name(final))

    def pcm(_positions=None):
        for cp in the_plan.chapters:
            yield from assemble.chapter_pcm(chapter_parts(cp, run.cache), cp.head_ms, cp.tail_ms)

    first = the_plan.chapters[0]
    try:
        seconds = encode_to_target(pcm, [("m4b", tmp)], first.level_gain, first.loudness, metadata=meta_path)
        FORMATS["m4b"].write_tags(tmp, album_tags, run.cover)
        os.replace(tmp, final)
    finally:
        for leftover in (tmp, meta_path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    run.manifest.set("m4b", M4bRecord(final.name, _m4b_hash(the_plan), album_tags.as_dict(), seconds))
    report.m4b = "written"
    report.audio_seconds += 0 if has_chapter_files else seconds


def _m4b_hash(the_plan: Plan) -> str:
    return hashlib.sha256(json.dumps([cp.hash_for(["m4b"]) for cp in the_plan.chapters]).encode()).hexdigest()[:40]


def report_stale_m4b(run: Run, asked: bool) -> None:
    """An M4B this render did not rebuild: said in the final line when it no longer matches."""
    record = run.manifest.get("m4b")
    current = record and record.audio == _m4b_hash(run.ready.plan) and (run.out_dir / record.file).exists()
    if not current:
        run.report.m4b = ("stale: it is rebuilt when every chapter is rendered" if asked
                          else "stale: render with --format m4b to rebuild it")
