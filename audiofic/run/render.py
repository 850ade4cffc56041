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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..sound import assemble
from ..publish.covers import cover_id, generate_cover, load_cover
from ..engines import release_engines
from ..errors import AudioficError
from ..files import fresh, partial_name
from ..publish.formats import FORMATS, per_chapter
from ..sound.levels import Levels, encode_to_target, parse_loudness
from ..model import Voice
from .plan import ChapterPlan, Options, Plan, Prepared, prepare
from ..publish.feed import publish, publish_cover
from .state import Manifest, WorkLock, cache_dir_for, prepare_folders, remove_stale_partials, work_identity
from ..sound.synthesize import SynthJob, cache_entry_ok, cache_path, init_worker, synthesize_job, wav_duration
from ..publish.tag import Cover, Tags
from ..casting.cast import write_cast_file

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

    def line(self, timed: bool = True) -> str:
        speed = self.audio_seconds / self.wall_seconds if self.wall_seconds else 0.0
        return (
            f"chapters: {self.rendered} rendered, {self.skipped} skipped"
            + (f", {self.retagged} retagged" if self.retagged else "")
            + (f"; m4b {self.m4b}" if self.m4b else "")
            + f"; segments: {self.synthesized} synthesized, {self.cached} cached; "
            f"audio {format_duration(self.audio_seconds)}"
            + (f" in {self.wall_seconds:.1f} s ({speed:.0f}x real time)" if timed else "")
        )


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@dataclass
class Run:
    """One work's render: what its steps share."""

    options: Options
    ready: Prepared
    cache: Path
    out_dir: Path
    manifest: Manifest
    report: Report
    cover: Cover
    identity: dict
    todo: list[ChapterPlan] = field(default_factory=list)  # chapters whose files are written again
    needed: list[ChapterPlan] = field(default_factory=list)  # chapters whose segments must be in the cache
    error: str | None = None  # why this work failed, when a shelf goes on without it


def render(path: Path, options: Options = Options(), progress: ProgressFn | None = None,
           backend: "Backend | None" = None) -> Report:
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
    prepare_folders(options.output, out_dir, cache)
    identity = work_identity(work)
    held.enter_context(WorkLock(out_dir))
    manifest = Manifest.of(out_dir)
    manifest.claim(identity)
    write_cast_file(out_dir / "voices.toml", work, ready.casting)
    remove_stale_partials(out_dir)
    apply_levels(the_plan, Levels(cache, level), options.jobs)
    for cp in the_plan.chapters:
        cp.tags.cover_id = cover_id(the_cover)
    publish_cover(out_dir, the_cover)
    run = Run(options, ready, cache, out_dir, manifest, Report(out_dir=out_dir), the_cover, identity)
    for cp in the_plan.chapters if per_chapter(options.formats) else []:
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
        run.todo.append(cp)
    run.needed = the_plan.chapters if _m4b_wanted(run) and not _m4b_current(run) else run.todo
    return run


def finish(run: Run) -> None:
    """After the chapters: the M4B, the feed and the playlist."""
    if _m4b_wanted(run):
        _render_m4b(run)
    elif run.manifest.get("m4b") or "m4b" in run.options.formats:
        _report_stale_m4b(run.ready.plan, run, "m4b" in run.options.formats)
    publish(run.ready.plan, run.out_dir, run.manifest, run.options.formats, run.options.base_url, run.identity)


def _calibrate(levels: Levels, voices: set[Voice], jobs: int) -> None:
    """Speak the voices' calibration passages on every core: a neural voice takes seconds each."""
    missing = levels.missing(voices)
    if len(missing) > 1 and jobs > 1:
        with worker_pool(min(jobs, len(missing))) as pool:
            try:
                list(pool.map(synthesize_job, missing, [levels.cache_dir] * len(missing)))
            except BrokenProcessPool:
                raise AudioficError(WORKER_DIED) from None


def worker_pool(count: int) -> cf.ProcessPoolExecutor:
    """Synthesis worker processes, started fresh (spawn), each loading its own engines."""
    release_engines()  # the workers load their own models
    return cf.ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=init_worker)


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


class Backend:
    """Where segments are synthesized and chapters encoded: this machine (Local) or a Ray
    cluster (cluster.RayBackend). Both take the same plans and make the same bytes."""

    def synth_pool(self, count: int):
        """An executor for `count` synthesis jobs: submit(synthesize_job, job, cache) -> Future."""
        raise NotImplementedError

    def encode(self, cp: ChapterPlan, run: Run, cancel: threading.Event,
               pending: dict[str, cf.Future]) -> cf.Future:
        """Write the chapter's files; the future gives (seconds, marks), or (seconds, None) when
        the chapter's manifest entry is already written."""
        raise NotImplementedError

    def close(self) -> None:
        pass


class Local(Backend):
    """This machine: synthesis in worker processes, each chapter encoded in a thread as its
    segments arrive."""

    def __init__(self, jobs: int | None = None):
        self.jobs = jobs or os.cpu_count() or 1
        self._threads = cf.ThreadPoolExecutor(max_workers=self.jobs)

    def synth_pool(self, count: int):
        if self.jobs > 1 and count > 1:
            return worker_pool(min(self.jobs, count))
        return _Inline()

    def encode(self, cp, run, cancel, pending):
        def encode_and_record():  # recorded in the same thread, so a Ctrl-C never falls between
            seconds, marks = encode_chapter_files(cp, run.out_dir, run.cache, run.cover, pending, cancel.is_set)
            _record_chapter(cp, run, seconds, marks)
            return seconds, None

        return self._threads.submit(encode_and_record)

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)


def process(runs: list[Run], backend: Backend, progress: ProgressFn | None = None, isolate: bool = False) -> None:
    """Synthesize what the cache lacks for every run (each segment once, however many works
    share it) and encode each run's chapters as their segments arrive. With `isolate` (a
    shelf), a work whose chapter fails is marked failed and the others go on."""
    runs = [run for run in runs if run.needed]
    if not runs:
        backend.close()
        return
    missing: dict[tuple[Path, str], SynthJob] = {}
    users: dict[tuple[Path, str], list[Run]] = {}
    damaged = 0
    for run in runs:
        seen: set[str] = set()
        for p in (p for cp in run.needed for p in cp.segments):
            where = (run.cache, p.key)
            if p.key in seen:
                continue
            seen.add(p.key)
            if where not in missing and not cache_entry_ok(path := cache_path(run.cache, p.key)):
                missing[where] = SynthJob(p.key, p.speech, p.voice)
                damaged += path.exists()
            if where in missing:
                users.setdefault(where, []).append(run)
                run.report.synthesized += 1
            else:
                run.report.cached += 1
    if damaged:
        warnings.warn(f"{damaged} cached segment{'s were' if damaged > 1 else ' was'} damaged (cut short); "
                      "synthesizing again")
    todo = [(run, cp) for run in runs for cp in run.todo]
    state = {"works_total": len(runs), "works_done": 0, "chapters_total": len(todo), "chapters_done": 0,
             "segments_total": len(missing), "segments_done": 0, "started": time.monotonic()}
    chapters_left = {id(run): len(run.todo) for run in runs}
    lock = threading.Lock()
    cancel = threading.Event()

    def tick(_future=None):
        with lock:
            if _future is not None:
                state["segments_done"] += 1
            snapshot = dict(state)
        if progress:
            progress(snapshot)

    def failed(run: Run, exc: BaseException) -> None:
        if not isolate or not isinstance(exc, Exception):
            raise exc
        run.error = run.error or _one_line(exc)

    synth_pool = backend.synth_pool(len(missing))
    futures: dict[tuple[Path, str], cf.Future] = {}
    encodes: dict[cf.Future, tuple[Run, ChapterPlan]] = {}
    try:
        tick()
        for (cache, key), job in missing.items():
            futures[(cache, key)] = synth_pool.submit(synthesize_job, job, cache)
            futures[(cache, key)].add_done_callback(tick)
        pending: dict[Path, dict[str, cf.Future]] = {}
        for (cache, key), future in futures.items():
            pending.setdefault(cache, {})[key] = future
        for run, cp in todo:
            encodes[backend.encode(cp, run, cancel, pending.get(run.cache, {}))] = (run, cp)
        for future in cf.as_completed(encodes):
            run, cp = encodes[future]
            try:
                seconds, marks = future.result()
            except BaseException as exc:  # noqa: BLE001 - one work's failure, or the end of the render
                failed(run, exc)
                continue
            if marks is not None:
                _record_chapter(cp, run, seconds, marks)
            run.report.audio_seconds += seconds
            run.report.rendered += 1
            with lock:
                state["chapters_done"] += 1
                chapters_left[id(run)] -= 1
                state["works_done"] += chapters_left[id(run)] == 0
            tick()
        for where, future in futures.items():  # what an M4B needs beyond the chapters
            try:
                future.result()
            except BaseException as exc:  # noqa: BLE001 - as above
                for run in users[where]:
                    failed(run, exc)
    except BaseException as exc:
        cancel.set()
        for future in list(futures.values()) + list(encodes):
            future.cancel()
        if isinstance(exc, BrokenProcessPool):
            raise AudioficError(WORKER_DIED) from None
        raise
    finally:
        synth_pool.shutdown(wait=True, cancel_futures=True)
        backend.close()


WORKER_DIED = "a synthesis worker died (killed, or out of memory); run the same command again to resume"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, BrokenProcessPool):
        return WORKER_DIED
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename + ': ' if exc.filename else ''}{exc.strerror}"
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


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


def encode_chapter_files(cp: ChapterPlan, out_dir: Path, cache: Path, cover: Cover,
                         pending: dict[str, cf.Future] | None = None,
                         cancelled: Callable[[], bool] = lambda: False) -> tuple[float, list]:
    """Encode and tag one chapter's files, each under a temporary name renamed into place.
    Segments still being synthesized are awaited in turn, so encoding follows synthesis."""
    outputs = [(fmt, out_dir / name) for fmt, name in cp.filenames.items()]
    positions: list[int] = []

    def pcm(marks=None):
        for chunk in assemble.chapter_pcm(_chapter_parts(cp, cache, pending), cp.head_ms, cp.tail_ms, marks):
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
    return seconds, marks


def _record_chapter(cp: ChapterPlan, run: Run, seconds: float, marks: list) -> None:
    """The manifest entry of a chapter just written; files it had under other names go."""
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
            "marks": [list(m) for m in marks],
            "seconds": seconds,
        },
    )


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


def _m4b_wanted(run: Run) -> bool:
    return "m4b" in run.options.formats and run.ready.selected is None


def _m4b_current(run: Run) -> bool:
    entry = run.manifest.get("m4b")
    return bool(not run.options.force and entry and entry.get("audio") == _m4b_hash(run.ready.plan)
                and (run.out_dir / entry["file"]).exists())


def _render_m4b(run: Run) -> None:
    """The whole work in one M4B with a chapter mark per chapter (QuickTime and Nero), from
    segments `process` has put in the cache."""
    the_plan = run.ready.plan
    final = run.out_dir / m4b_name(the_plan.slug)
    album_tags = the_plan.chapters[0].tags
    entry = run.manifest.get("m4b")
    has_chapter_files = any(cp.filenames for cp in the_plan.chapters)
    report = run.report
    if _m4b_current(run):
        if entry.get("tags") != album_tags.as_dict():
            write_tags_in_place(final, "m4b", album_tags, run.cover)
            run.manifest.set("m4b", entry | {"tags": album_tags.as_dict()})
        report.m4b = "unchanged"
        report.audio_seconds += 0 if has_chapter_files else entry.get("seconds", 0.0)
        return
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
    run.manifest.set("m4b", {"file": final.name, "audio": _m4b_hash(the_plan), "tags": album_tags.as_dict(),
                             "seconds": seconds})
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
