"""Render: run the pipeline for a work and write one tagged file per chapter.

`prepare` (plan.py) makes the plan; only chapters whose plan changed since the last render
are synthesized, assembled, encoded and tagged. Each file is written under a temporary name
and renamed, and the manifest that records what went into it is rewritten atomically after
every chapter, so a killed render resumes.
"""

from __future__ import annotations

import concurrent.futures as cf
from concurrent.futures.process import BrokenProcessPool
import contextlib
import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import assemble
from .covers import cover_id, generate_cover, load_cover
from .engines import release_engines
from .errors import AudioficError
from .files import fresh, partial_name
from .formats import FORMATS, per_chapter
from .levels import Levels, encode_to_target, parse_loudness
from .plan import ChapterPlan, Options, Plan, prepare
from .publish import publish, publish_cover
from .state import Manifest, WorkLock, cache_dir_for, prepare_folders, remove_stale_partials, work_identity
from .synthesize import SynthJob, cache_entry_ok, cache_path, init_worker, synthesize_job, wav_duration
from .tag import Cover, Tags
from .cast import write_cast_file

ProgressFn = Callable[[dict], None]
THOUGHT_GAIN = -4.0  # dB: thoughts are heard softer than the narration around them


@dataclass
class Report:
    rendered: int = 0
    skipped: int = 0
    retagged: int = 0
    synthesized: int = 0
    cached: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    out_dir: Path | None = None
    m4b: str | None = None  # "written" or "unchanged" when an M4B was asked for

    def line(self) -> str:
        speed = self.audio_seconds / self.wall_seconds if self.wall_seconds else 0.0
        return (
            f"chapters: {self.rendered} rendered, {self.skipped} skipped"
            + (f", {self.retagged} retagged" if self.retagged else "")
            + (f"; m4b {self.m4b}" if self.m4b else "")
            + f"; segments: {self.synthesized} synthesized, {self.cached} cached; "
            f"audio {format_duration(self.audio_seconds)} in {self.wall_seconds:.1f} s "
            f"({speed:.0f}x real time)"
        )


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass
class Run:
    """What every step of one render shares."""

    cache: Path
    out_dir: Path
    manifest: Manifest
    report: Report
    jobs: int
    progress: ProgressFn | None
    cover: Cover


def render(path: Path, options: Options = Options(), progress: ProgressFn | None = None) -> Report:
    started = time.monotonic()
    assemble.require_ffmpeg()
    formats = tuple(dict.fromkeys(options.formats or ("mp3",)))
    options = dataclasses.replace(options, formats=formats)
    jobs = options.jobs or os.cpu_count() or 1
    level = parse_loudness(options.loudness)
    ready = prepare(path, options)
    work, out_dir, the_plan = ready.work, ready.out_dir, ready.plan
    the_cover = load_cover(options.cover) if options.cover else generate_cover(
        work.title, work.author, ", ".join(work.fandoms[:2]))
    cache = cache_dir_for(out_dir, options.cache)
    prepare_folders(options.output, out_dir, cache)
    identity = work_identity(work)
    with WorkLock(out_dir):
        manifest = Manifest.of(out_dir)
        manifest.claim(identity)
        write_cast_file(out_dir / "voices.toml", work, ready.casting)
        remove_stale_partials(out_dir)
        apply_levels(the_plan, Levels(cache, level))
        if jobs > 1:
            release_engines()  # the workers load their own models
        for cp in the_plan.chapters:
            cp.tags.cover_id = cover_id(the_cover)
        publish_cover(out_dir, the_cover)
        run = Run(cache, out_dir, manifest, Report(out_dir=out_dir), jobs, progress, the_cover)
        todo: list[ChapterPlan] = []
        for cp in the_plan.chapters if per_chapter(formats) else []:
            entry = manifest.get(cp.chapter.number)
            if ready.selected is not None and cp.chapter.number not in ready.selected:
                if entry and _files_current(cp, entry, out_dir, audio=False):
                    _retag_if_changed(cp, entry, run)  # a new track total
                continue
            if not options.force and entry and _files_current(cp, entry, out_dir):
                _retag_if_changed(cp, entry, run)
                run.report.skipped += 1
                run.report.audio_seconds += entry.get("seconds", 0.0)
                continue
            todo.append(cp)
        _synthesize_and_encode(todo, run)
        if "m4b" in formats and ready.selected is None:
            _render_m4b(the_plan, run, options.force)
        elif manifest.get("m4b") or "m4b" in formats:
            _report_stale_m4b(the_plan, run, "m4b" in formats)
        publish(the_plan, out_dir, manifest, formats, options.base_url, identity)
    run.report.wall_seconds = time.monotonic() - started
    return run.report


def apply_levels(the_plan: Plan, levels: Levels) -> None:
    """Each segment's voice gain, and the chapter gain and limiter, into the plan."""
    voices = {p.voice for cp in the_plan.chapters for p in cp.segments}
    gains = {voice: levels.voice_gain(voice) for voice in voices}
    for cp in the_plan.chapters:
        cp.gains = [gains[p.voice] + (THOUGHT_GAIN if p.reader == "thought" else 0.0) for p in cp.segments]
    gain = levels.chapter_gain(the_plan.config.narrator)
    for cp in the_plan.chapters:
        cp.level_gain, cp.loudness = gain, levels.loudness


def _files_current(cp: ChapterPlan, entry: dict, out_dir: Path, audio: bool = True) -> bool:
    if audio and entry.get("audio") != cp.audio_hash:
        return False
    files = entry.get("files", {})
    return files == cp.filenames and all((out_dir / name).exists() for name in files.values())


def _retag_if_changed(cp: ChapterPlan, entry: dict, run: Run) -> None:
    """Tags only (a new track total, say): written in place, the audio left as it is."""
    if entry.get("tags") != cp.tags.as_dict():
        marks = [tuple(m) for m in entry.get("marks", [])]
        for fmt, name in entry["files"].items():
            write_tags_in_place(run.out_dir / name, fmt, cp.tags, run.cover, marks)
        run.manifest.set(cp.chapter.number, entry | {"tags": cp.tags.as_dict()})
        run.report.retagged += 1


def write_tags_in_place(path: Path, fmt: str, tags: Tags, cover: Cover | None = None, marks=None) -> None:
    """Retag without re-encoding; via a temporary copy so a kill never leaves a broken file."""
    tmp = fresh(partial_name(path))
    with open(path, "rb") as src, open(tmp, "xb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    FORMATS[fmt].write_tags(tmp, tags, cover, marks)
    os.replace(tmp, path)


class _Inline:
    """An executor that runs each job at once, in this process (for --jobs 1)."""

    def submit(self, fn, *args):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def _synthesize_and_encode(todo: list[ChapterPlan], run: Run, encode: bool = True) -> None:
    """Synthesize what the cache lacks in worker processes; encode each chapter as its
    segments arrive."""
    if not todo:
        return
    all_keys = {p.key for cp in todo for p in cp.segments}
    missing, damaged = {}, 0
    for cp in todo:
        for p in cp.segments:
            if p.key not in missing and not cache_entry_ok(path := cache_path(run.cache, p.key)):
                missing[p.key] = SynthJob(p.key, p.speech, p.voice)
                damaged += path.exists()
    if damaged:
        warnings.warn(f"{damaged} cached segment{'s were' if damaged > 1 else ' was'} damaged (cut short); "
                      "synthesizing again")
    run.report.synthesized += len(missing)
    run.report.cached += len(all_keys) - len(missing)
    state = {"chapters_total": len(todo) if encode else 0, "chapters_done": 0, "segments_total": len(missing),
             "segments_done": 0, "started": time.monotonic()}
    lock = threading.Lock()
    cancel = threading.Event()

    def tick(_future=None):
        with lock:
            if _future is not None:
                state["segments_done"] += 1
            snapshot = dict(state)
        if run.progress:
            run.progress(snapshot)

    if run.jobs > 1 and len(missing) > 1:
        synth_pool = cf.ProcessPoolExecutor(
            max_workers=min(run.jobs, len(missing)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
        )
    else:
        synth_pool = _Inline()
    encode_pool = cf.ThreadPoolExecutor(max_workers=max(1, run.jobs))
    futures: dict[str, cf.Future] = {}
    encodes: list[cf.Future] = []
    try:
        tick()
        for key, job in missing.items():
            futures[key] = synth_pool.submit(synthesize_job, job, run.cache)
            futures[key].add_done_callback(tick)
        if not encode:
            for future in futures.values():
                future.result()
            return
        for cp in todo:
            encodes.append(encode_pool.submit(_encode_chapter, cp, run, cancel, futures))
        for future in encodes:
            run.report.audio_seconds += future.result()
            run.report.rendered += 1
            with lock:
                state["chapters_done"] += 1
            tick()
    except BaseException as exc:
        cancel.set()
        for future in list(futures.values()) + encodes:
            future.cancel()
        if isinstance(exc, BrokenProcessPool):
            raise AudioficError("a synthesis worker died (killed, or out of memory); "
                                "run the same command again to resume") from None
        raise
    finally:
        synth_pool.shutdown(wait=True, cancel_futures=True)
        encode_pool.shutdown(wait=True, cancel_futures=True)


def _chapter_parts(cp: ChapterPlan, cache: Path, pending: dict[str, cf.Future] | None = None):
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


def _encode_chapter(cp: ChapterPlan, run: Run, cancel: threading.Event, pending: dict[str, cf.Future]) -> float:
    """Encode while the chapter is still being synthesized: each segment is awaited in turn."""
    outputs = [(fmt, run.out_dir / name) for fmt, name in cp.filenames.items()]
    positions: list[int] = []

    def pcm(marks=None):
        for chunk in assemble.chapter_pcm(_chapter_parts(cp, run.cache, pending), cp.head_ms, cp.tail_ms, marks):
            if cancel.is_set():
                raise AudioficError("render interrupted")
            yield chunk

    temps = [(fmt, fresh(partial_name(final))) for fmt, final in outputs]
    try:
        seconds = encode_to_target(pcm, temps, cp.level_gain, cp.loudness, positions=positions)
        marks = _marks(cp, positions)
        for fmt, tmp in temps:
            FORMATS[fmt].write_tags(tmp, cp.tags, run.cover, marks)
        for (_fmt, tmp), (_fmt2, final) in zip(temps, outputs):
            os.replace(tmp, final)
    except BaseException:
        for _fmt, tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    old = run.manifest.get(cp.chapter.number)
    for name in (old or {}).get("files", {}).values():
        if name not in cp.filenames.values():
            with contextlib.suppress(FileNotFoundError):
                (run.out_dir / name).unlink()
    run.manifest.set(
        cp.chapter.number,
        {
            "files": cp.filenames,
            "title": cp.chapter.title,
            "audio": cp.audio_hash,
            "tags": cp.tags.as_dict(),
            "segments": [p.key for p in cp.segments],
            "pauses": cp.pause_ms,
            "gains": cp.gains,
            "chains": {fmt: cp.chain(fmt) for fmt in cp.filenames},
            "marks": marks,
            "seconds": seconds,
        },
    )
    return seconds


def m4b_name(slug: str) -> str:
    return f"{slug}.{FORMATS['m4b'].extension}"


def _m4b_chapter_map(the_plan: Plan, cache: Path) -> str:
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


def _render_m4b(the_plan: Plan, run: Run, force: bool) -> None:
    """The whole work in one M4B with a chapter mark per chapter (QuickTime and Nero)."""
    final = run.out_dir / m4b_name(the_plan.slug)
    album_tags = the_plan.chapters[0].tags
    audio = _m4b_hash(the_plan)
    entry = run.manifest.get("m4b")
    has_chapter_files = any(cp.filenames for cp in the_plan.chapters)
    report = run.report
    if not force and entry and entry.get("audio") == audio and final.exists():
        if entry.get("tags") != album_tags.as_dict():
            write_tags_in_place(final, "m4b", album_tags, run.cover)
            run.manifest.set("m4b", entry | {"tags": album_tags.as_dict()})
        report.m4b = "unchanged"
        report.audio_seconds += 0 if has_chapter_files else entry.get("seconds", 0.0)
        return
    cached_before = report.cached
    _synthesize_and_encode(the_plan.chapters, run, encode=False)
    if has_chapter_files:  # the chapters' own pass already counted these segments
        report.cached = cached_before
    meta_path = fresh(partial_name(run.out_dir / "chapters.ffmeta"))
    meta_path.write_text(_m4b_chapter_map(the_plan, run.cache), "utf-8")
    tmp = fresh(partial_name(final))

    def pcm(_positions=None):
        for cp in the_plan.chapters:
            yield from assemble.chapter_pcm(_chapter_parts(cp, run.cache), cp.head_ms, cp.tail_ms)

    first = the_plan.chapters[0]
    try:
        seconds = encode_to_target(pcm, [("m4b", tmp)], first.level_gain, first.loudness, metadata=meta_path)
        FORMATS["m4b"].write_tags(tmp, album_tags, run.cover)
        os.replace(tmp, final)
    finally:
        for leftover in (tmp, meta_path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    run.manifest.set("m4b", {"file": final.name, "audio": audio, "tags": album_tags.as_dict(), "seconds": seconds})
    report.m4b = "written"
    report.audio_seconds += 0 if has_chapter_files else seconds


def _m4b_hash(the_plan: Plan) -> str:
    return hashlib.sha256(json.dumps([cp.hash_for(["m4b"]) for cp in the_plan.chapters]).encode()).hexdigest()[:40]


def _report_stale_m4b(the_plan: Plan, run: Run, asked: bool) -> None:
    """An M4B this render did not rebuild: said in the final line when it no longer matches."""
    entry = run.manifest.get("m4b")
    current = entry and entry.get("audio") == _m4b_hash(the_plan) and (run.out_dir / entry["file"]).exists()
    if not current:
        run.report.m4b = ("stale: it is rebuilt when every chapter is rendered" if asked
                          else "stale: render with --format m4b to rebuild it")
