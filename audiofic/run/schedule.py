"""Where and when the work is done: segments synthesized in worker processes (or, through
`cluster.RayBackend`, on Ray actors) and each chapter encoded as soon as its segments are in
the cache. `process` drives one or many works' renders through a `Backend`."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
import warnings
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from ..engines import release_engines
from ..errors import WORKER_DIED, AudioficError, one_line
from ..sound.synthesize import SynthJob, cache_entry_ok, cache_path, drop_spare, init_worker, synthesize_job
from .chapters import encode_chapter_files, record_chapter
from .job import Progress, ProgressFn, Run
from .plan import ChapterPlan


class Inline:
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


@contextlib.contextmanager
def deaf_to_ctrl_c():
    """Worker processes started in here (a spawn pool starts them as jobs are submitted) begin
    life with SIGINT blocked, a mask that survives exec: a terminal's Ctrl-C, sent to the whole
    process group, reaches only the main process, which stops them and cleans up. A Ctrl-C
    that comes while they are being started is held until they are (a worker left half-started
    would print a traceback of its own)."""
    heard = []
    main = threading.current_thread() is threading.main_thread()
    handler = signal.signal(signal.SIGINT, lambda *_: heard.append(True)) if main else None
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        if main:
            signal.signal(signal.SIGINT, handler)
        if heard:  # a Ctrl-C while a worker was being started: raised now that it has all it needs
            raise KeyboardInterrupt


def worker_pool(count: int) -> cf.ProcessPoolExecutor:
    """Synthesis worker processes, started fresh (spawn), each loading its own engines."""
    release_engines()  # the workers load their own models
    return cf.ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"),
                                  initializer=init_worker)


class Backend:
    """Where segments are synthesized and chapters encoded: this machine (Local) or a Ray
    cluster (cluster.RayBackend). Both take the same plans and make the same bytes."""

    def synth_pool(self, count: int):
        """An executor for `count` synthesis jobs: submit(synthesize_job, job, cache) -> Future."""
        raise NotImplementedError

    def encode(self, cp: ChapterPlan, run: Run, cancel: threading.Event,
               pending: dict[str, cf.Future]) -> cf.Future:
        """Write the chapter's files; the future gives (seconds, marks, segment starts), or
        (seconds, None, None) when the chapter's manifest entry is already written."""
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
        return Inline()

    def encode(self, cp, run, cancel, pending):
        def encode_and_record():  # recorded in the same thread, so a Ctrl-C never falls between
            seconds, marks, starts = encode_chapter_files(cp, run.out_dir, run.cache, run.cover, pending,
                                                          cancel.is_set)
            record_chapter(cp, run, seconds, marks, starts)
            return seconds, None, None

        return self._threads.submit(encode_and_record)

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)


Where = tuple[Path, str]  # (cache folder, segment key)


def missing_segments(runs: list[Run]) -> tuple[dict[Where, SynthJob], dict[Where, list[Run]]]:
    """The segments the runs' caches lack (each once, however many works share it), the runs
    that wait for each, and every run's synthesized and cached counts."""
    missing: dict[Where, SynthJob] = {}
    users: dict[Where, list[Run]] = {}
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
    return missing, users


class _Tracker:
    """The progress record, updated from synthesis callbacks and the encoding loop."""

    def __init__(self, runs: list[Run], segments: int, progress: ProgressFn | None):
        self.state = Progress(started=time.monotonic(), works_total=len(runs),
                              chapters_total=sum(len(run.todo) for run in runs), segments_total=segments)
        self.chapters_left = {id(run): len(run.todo) for run in runs}
        self.progress = progress
        self.lock = threading.Lock()

    def segment_done(self, _future=None) -> None:
        with self.lock:
            self.state = dataclasses.replace(self.state, segments_done=self.state.segments_done + 1)
        self.show()

    def chapter_done(self, run: Run) -> None:
        with self.lock:
            self.chapters_left[id(run)] -= 1
            self.state = dataclasses.replace(self.state, chapters_done=self.state.chapters_done + 1,
                                             works_done=self.state.works_done + (self.chapters_left[id(run)] == 0))
        self.show()

    def show(self) -> None:
        if self.progress:
            self.progress(self.state)


def process(runs: list[Run], backend: Backend, progress: ProgressFn | None = None, isolate: bool = False) -> None:
    """Synthesize what the cache lacks for every run (each segment once, however many works
    share it) and encode each run's chapters as their segments arrive. With `isolate` (a
    shelf), a work whose chapter fails is marked failed and the others go on."""
    runs = [run for run in runs if run.needed]
    if not runs:
        backend.close()
        return
    missing, users = missing_segments(runs)
    tracker = _Tracker(runs, len(missing), progress)
    cancel = threading.Event()

    def failed(run: Run, exc: BaseException) -> None:
        if not isolate or not isinstance(exc, Exception):
            raise exc
        run.error = run.error or one_line(exc)

    synth_pool = backend.synth_pool(len(missing))
    futures: dict[Where, cf.Future] = {}
    encodes: dict[cf.Future, tuple[Run, ChapterPlan]] = {}
    try:
        tracker.show()
        pending: dict[Path, dict[str, cf.Future]] = {}
        with deaf_to_ctrl_c():
            for (cache, key), job in missing.items():
                futures[(cache, key)] = synth_pool.submit(synthesize_job, job, cache)
                futures[(cache, key)].add_done_callback(tracker.segment_done)
                pending.setdefault(cache, {})[key] = futures[(cache, key)]
        for run in runs:
            for cp in run.todo:
                encodes[backend.encode(cp, run, cancel, pending.get(run.cache, {}))] = (run, cp)
        for future in cf.as_completed(encodes):
            run, cp = encodes[future]
            try:
                seconds, marks, starts = future.result()
            except BaseException as exc:  # noqa: BLE001 - one work's failure, or the end of the render
                failed(run, exc)
                continue
            if marks is not None:
                record_chapter(cp, run, seconds, marks, starts)
            run.report.audio_seconds += seconds
            run.report.rendered += 1
            tracker.chapter_done(run)
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
        for cache, key in missing:  # what no chapter read (a segment only an M4B or a failed chapter needed)
            drop_spare(cache, key)
