"""Render: one work from start to finish. `start` plans it, takes its folder and decides which
chapters must be made and which are current; `schedule.process` makes them; `finish` writes the
M4B, the feed and the playlist. Voice levels are measured here, before any chapter is made.

Each file is written under a temporary name and renamed, and the manifest that records what
went into it is rewritten atomically after every chapter, so a killed render resumes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..casting.cast import reader_lines, voices_summary, write_cast_file
from ..errors import WORKER_DIED, AudioficError
from ..model import Voice
from ..publish.covers import cover_id, generate_cover, load_cover
from ..publish.feed import publish, publish_cover
from ..publish.library import STATE_DIR, record_layout, write_sidecars
from ..publish.formats import per_chapter
from ..sound import assemble
from ..sound.levels import Levels, parse_loudness
from ..sound.synthesize import synthesize_job
from .chapters import caption_if_needed, files_current, retag_if_changed
from .epubbook import build_epub
from .job import ProgressFn, Report, Run
from .m4b import m4b_current, m4b_wanted, render_m4b, report_stale_m4b
from .plan import Options, Plan, Prepared, prepare
from .schedule import Backend, Local, deaf_to_ctrl_c, process, worker_pool
from .state import (Manifest, WorkLock, cache_dir_for, move_work, prepare_folders, record_options,
                    remove_stale_partials, work_identity)

THOUGHT_GAIN = -4.0  # dB: thoughts are heard softer than the narration around them


def render(path: Path, options: Options = Options(), progress: ProgressFn | None = None,
           backend: Backend | None = None) -> Report:
    started = time.monotonic()
    assemble.require_ffmpeg()
    options = normalised(options)
    with contextlib.ExitStack() as held:
        run = start(path, options, held)
        process([run], backend or Local(options.jobs), progress)
        finish(run)
    run.report.wall_seconds = time.monotonic() - started
    return run.report


def normalised(options: Options) -> Options:
    return dataclasses.replace(options, formats=tuple(dict.fromkeys(options.formats or ("mp3",))),
                               jobs=options.jobs or os.cpu_count() or 1)


def start(path: Path, options: Options, held: contextlib.ExitStack) -> Run:
    """Plan a work, take its folder (the lock stays in `held`) and decide what must be made."""
    level = parse_loudness(options.loudness)
    ready = prepare(path, options)
    work, out_dir, the_plan = ready.work, ready.out_dir, ready.plan
    the_cover = load_cover(options.cover) if options.cover else generate_cover(
        work.title, work.author, ", ".join(work.fandoms[:2]))
    cache = cache_dir_for(out_dir, options.cache)
    take_place(ready, options)
    prepare_folders(options.output, out_dir, cache)
    identity = work_identity(work)
    held.enter_context(WorkLock(out_dir))
    manifest = Manifest.of(out_dir)
    manifest.claim(identity)
    record_options(out_dir, path, options)
    write_cast_file(out_dir / "voices.toml", work, ready.casting, ready.config, options.recast)
    remove_stale_partials(out_dir)
    apply_levels(the_plan, Levels(cache, level), options.jobs)
    for cp in the_plan.chapters:
        cp.tags.cover_id = cover_id(the_cover)
    publish_cover(out_dir, the_cover)
    run = Run(options, ready, cache, out_dir, manifest, Report(out_dir=out_dir, voices=voices_summary(ready.config, ready.casting)),
              the_cover, identity)
    _choose_chapters(run)
    return run


def take_place(ready: Prepared, options: Options) -> None:
    """In an Audiobookshelf library: one audio format per book (it would play two as one), the
    layout recorded, and a work whose title or series changed moved to its new folder."""
    if ready.layout != "audiobookshelf":
        return
    if len(options.formats) > 1:
        raise AudioficError("--layout audiobookshelf: choose one --format (Audiobookshelf plays every audio "
                            "file in a book's folder as one book)")
    prepare_folders(options.output, options.output / STATE_DIR, options.output / STATE_DIR)
    record_layout(options.output, ready.layout)
    if ready.moved_from:
        move_work(ready.moved_from, ready.out_dir, options.output)


def _choose_chapters(run: Run) -> None:
    """Which chapters are written again (`todo`) and whose segments must be cached (`needed`);
    current ones are skipped, retagged where only their tags changed."""
    ready, manifest = run.ready, run.manifest
    for cp in ready.plan.chapters if per_chapter(run.options.formats) else []:
        record = manifest.get(cp.chapter.number)
        if ready.selected is not None and cp.chapter.number not in ready.selected:
            if record and files_current(cp, record, run.out_dir, audio=False):
                retag_if_changed(cp, record, run)  # a new track total
            if record and record.audio != cp.audio_hash:
                run.report.stale.append(cp.chapter.number)  # a change reached it too: said in the last line
            continue
        if not run.options.force and record and files_current(cp, record, run.out_dir) \
                and caption_if_needed(cp, record, run):
            retag_if_changed(cp, record, run)
            run.report.skipped += 1
            run.report.audio_seconds += record.seconds
            continue
        run.todo.append(cp)
    run.needed = ready.plan.chapters if m4b_wanted(run) and not m4b_current(run) else run.todo


def finish(run: Run) -> None:
    """After the chapters: the M4B, the feed and the playlist."""
    if m4b_wanted(run):
        render_m4b(run)
    elif run.manifest.get("m4b") or "m4b" in run.options.formats:
        report_stale_m4b(run, "m4b" in run.options.formats)
    publish(run.ready.plan, run.out_dir, run.manifest, run.options.formats, run.base_url, run.identity)
    if run.options.epub:
        build_epub(run)
    if run.ready.layout == "audiobookshelf":
        write_sidecars(run.out_dir, run.ready.work, reader_lines(run.ready.config, run.ready.casting))


def _calibrate(levels: Levels, voices: set[Voice], jobs: int) -> None:
    """Speak the voices' calibration passages on every core: a neural voice takes seconds each."""
    missing = levels.missing(voices)
    if len(missing) > 1 and jobs > 1:
        with worker_pool(min(jobs, len(missing))) as pool:
            try:
                with deaf_to_ctrl_c():
                    futures = [pool.submit(synthesize_job, job, levels.cache_dir, False) for job in missing]
                for future in futures:
                    future.result()
            except BrokenProcessPool:
                raise AudioficError(WORKER_DIED) from None


def apply_levels(the_plan: Plan, levels: Levels, jobs: int = 1) -> None:
    """Each segment's voice gain, and the chapter gain and limiter, into the plan (the voices
    not yet measured are spoken first, on `jobs` cores)."""
    voices = {p.voice for cp in the_plan.chapters for p in cp.segments}
    _calibrate(levels, voices | {the_plan.config.narrator}, jobs)
    gains = {voice: levels.voice_gain(voice) for voice in voices}
    for cp in the_plan.chapters:
        cp.gains = [gains[p.voice] + (THOUGHT_GAIN if p.reader == "thought" else 0.0) for p in cp.segments]
    gain = levels.chapter_gain(the_plan.config.narrator)
    for cp in the_plan.chapters:
        cp.level_gain, cp.loudness = gain, levels.loudness
