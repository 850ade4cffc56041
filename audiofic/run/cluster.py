"""Ray: segments synthesized by actors across a cluster (each actor loads its engines once),
chapters encoded as Ray tasks once their segments are in the cache.

Every node must see the output folder and the cache at the same path (a shared filesystem) and
have audiofic installed with the same engines; files are written under temporary names unique
to a host and process, then renamed, so nodes never see each other's half-written files.
Ray is an optional extra: nothing here is imported unless `--ray` is given.
"""

from __future__ import annotations

import collections
import contextlib
import concurrent.futures as cf
import logging
import socket
import threading
import warnings
from pathlib import Path

from ..errors import AudioficError, one_line
from .chapters import encode_chapter_files
from .schedule import Backend
from ..sound.synthesize import SynthJob, init_worker, synthesize_job

DEPTH = 2  # jobs queued on each actor: enough to keep it busy, few enough to lose little


class _Synthesizer:
    """A Ray actor: one process that keeps its engines (and their models) loaded."""

    def __init__(self):
        init_worker()

    def run(self, job: SynthJob, cache: str) -> str:
        return synthesize_job(job, Path(cache))


def connect(address: str, jobs: int | None = None):
    """Join the cluster at `address` (`auto`: the one Ray finds), or start a throwaway
    one-machine cluster (`local`) that ends with this run."""
    try:
        import ray
    except ImportError:
        raise AudioficError("--ray needs Ray, an optional extra: pip install 'audiofic[ray]'") from None
    settings = dict(logging_level=logging.ERROR, log_to_driver=False, configure_logging=True)
    if address not in ("local", "auto"):
        _reachable(address)
    try:
        if address == "local":
            ray.init(address="local", num_cpus=jobs, include_dashboard=False, **settings)
        else:
            ray.init(address=address, **settings)
    except Exception as exc:  # noqa: BLE001 - Ray raises many kinds for an unreachable cluster
        raise AudioficError(f"could not join the Ray cluster at {address}: {one_line(exc)}") from None
    _quiet(ray)
    return ray


def _reachable(address: str) -> None:
    """Fail at once on an address nothing answers at (Ray itself retries for minutes)."""
    host, _, port = address.split("://")[-1].rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except ValueError:
        raise AudioficError(f"--ray {address}: give HOST:PORT, auto or local") from None
    except OSError as exc:
        raise AudioficError(f"could not reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def _quiet(ray) -> None:
    """Ray prints the cluster's own error reports (a lost node's last raylet log, dozens of
    lines) on our stdout; a lost worker is reported once, as a warning, by ActorPool."""
    with contextlib.suppress(AttributeError):
        ray._private.worker.print_to_stdstream = lambda *args, **kwargs: None


def _cause(ray, exc: BaseException) -> BaseException:
    """The error a task raised, without Ray's wrapping (so a shelf reports it in one line)."""
    if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(exc.cause, BaseException):
        return exc.cause
    return exc


class RayBackend(Backend):
    def __init__(self, address: str, jobs: int | None = None, gpus_per_actor: float = 0.0):
        self.ray = connect(address, jobs)
        self.size = jobs or max(1, int(self.ray.cluster_resources().get("CPU", 1)))
        self.gpus = gpus_per_actor
        self._encode_task = self.ray.remote(num_cpus=0, max_retries=5)(encode_chapter_files)

    def synth_pool(self, count: int) -> "ActorPool":
        return ActorPool(self.ray, min(self.size, max(count, 1)), self.gpus)

    def encode(self, cp, run, cancel, pending) -> cf.Future:
        """A Ray task for the chapter, started when the last of its segments is cached."""
        result: cf.Future = cf.Future()
        waiting = list({pending[p.key] for p in cp.segments if p.key in pending})
        left = [len(waiting)]
        lock = threading.Lock()

        def launch():
            for future in waiting:
                if future.cancelled() or cancel.is_set():
                    return result.set_exception(AudioficError("render interrupted"))
                if future.exception() is not None:
                    return result.set_exception(future.exception())
            ref = self._encode_task.remote(cp, run.out_dir.resolve(), run.cache.resolve(), run.cover)
            ref.future().add_done_callback(finished)

        def finished(future: cf.Future):
            try:
                result.set_result(future.result())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                result.set_exception(_cause(self.ray, exc))

        def one_done(_future):
            with lock:
                left[0] -= 1
                last = left[0] == 0
            if last:
                launch()

        if not waiting:
            launch()
        for future in waiting:
            future.add_done_callback(one_done)
        return result

    def close(self) -> None:
        self.ray.shutdown()


class ActorPool:
    """Synthesis jobs on Ray actors. Jobs are handed out as actors finish, so a slow node never
    holds a queue; the jobs of an actor that dies (its node lost) go to the others, so a lost
    node costs only its in-flight segments."""

    def __init__(self, ray, size: int, gpus: float = 0.0):
        self.ray = ray
        self.wanted = size
        self._actor_class = ray.remote(num_cpus=1, num_gpus=gpus, max_restarts=0)(_Synthesizer)
        self.queue: collections.deque = collections.deque()
        self.inflight: dict = {}  # object ref -> (actor, job, cache, future)
        self.load: dict = {}  # actor -> jobs in flight on it
        self.cond = threading.Condition()
        self.closed = False
        for _ in range(size):
            self._add_actor()
        self.thread = threading.Thread(target=self._loop, name="audiofic-ray", daemon=True)
        self.thread.start()

    def _add_actor(self) -> None:
        self.load[self._actor_class.remote()] = 0

    def submit(self, _fn, job: SynthJob, cache: Path) -> cf.Future:
        future: cf.Future = cf.Future()
        with self.cond:
            self.queue.append((job, str(Path(cache).resolve()), future))
            self.cond.notify()
        return future

    def _hand_out(self) -> None:
        while self.queue and self.load and min(self.load.values()) < DEPTH:
            job, cache, future = self.queue.popleft()
            if future.cancelled():
                continue
            actor = min(self.load, key=self.load.get)
            self.inflight[actor.run.remote(job, cache)] = (actor, job, cache, future)
            self.load[actor] += 1

    def _loop(self) -> None:
        ray = self.ray
        while True:
            with self.cond:
                if self.closed:
                    return
                self._hand_out()
                refs = list(self.inflight)
                if not refs:
                    self.cond.wait(0.5)
                    continue
            ready, _ = ray.wait(refs, num_returns=1, timeout=0.5)
            for ref in ready:
                actor, job, cache, future = self.inflight.pop(ref)
                try:
                    ray.get(ref)
                except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                        ray.exceptions.NodeDiedError, ray.exceptions.ObjectLostError):
                    self._lost(actor, (job, cache, future))
                    continue
                except BaseException as exc:  # noqa: BLE001 - the job's own failure, handed to its caller
                    if not future.cancelled():
                        future.set_exception(_cause(ray, exc))
                else:
                    if not future.cancelled():
                        future.set_result(job.key)
                with self.cond:
                    if actor in self.load:
                        self.load[actor] -= 1

    def _lost(self, actor, item) -> None:
        """An actor died: its job goes back to the front of the queue, and a new actor is
        started where the cluster has room (none left: one is started anyway, and waits)."""
        with self.cond:
            if actor in self.load:
                warnings.warn("a Ray worker was lost (its node died, or it was killed); its segments go to the others")
                del self.load[actor]
                self.ray.kill(actor)
                if not self.load or self.ray.available_resources().get("CPU", 0) >= 1:
                    self._add_actor()
            self.queue.appendleft(item)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()
        self.thread.join()
        for _job, _cache, future in list(self.queue) + [v[1:] for v in self.inflight.values()]:
            if not future.done():
                future.cancel()
        for actor in list(self.load):
            self.ray.kill(actor)
