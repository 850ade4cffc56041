"""A shelf rendered on this machine and through a one-machine Ray cluster, in one run (by hand).

    .venv/bin/python benchmarks/shelf.py [--works N] [--voices neural]

The shelf is our own example work plus N generated works of our own. Each render starts from an
empty output folder and cache. Prints: the local time (the baseline), the Ray time and its
ratio, Ray's start-up, the overhead per segment (Ray time less start-up less local time, over
the segments), the round trip of an empty actor call, and whether every MP3 is byte-identical.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "the-lighthouse-keepers-cat.md"
sys.path.insert(0, str(ROOT / "tests"))

from test_shelf import write_shelf  # noqa: E402 - our own works, the tests' generator


def timed(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "audiofic", *args], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"failed: {' '.join(args)}\n{done.stderr}")
    return time.perf_counter() - start, done.stdout


def ray_costs(calls: int = 200) -> tuple[float, float]:
    """Seconds to start and stop a local Ray, and seconds per empty actor round trip."""
    import ray

    start = time.perf_counter()
    ray.init(address="local", include_dashboard=False, logging_level="ERROR", log_to_driver=False)

    @ray.remote(num_cpus=1)
    class Echo:
        def echo(self, x):
            return x

    actor = Echo.remote()
    ray.get(actor.echo.remote(0))
    started = time.perf_counter() - start
    t = time.perf_counter()
    for i in range(calls):
        ray.get(actor.echo.remote(i))
    per_call = (time.perf_counter() - t) / calls
    t = time.perf_counter()
    ray.shutdown()
    return started + time.perf_counter() - t, per_call


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--works", type=int, default=3)
    parser.add_argument("--voices", default=None)
    args = parser.parse_args()
    extra = ["--voices", args.voices] if args.voices else []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        works = write_shelf(tmp / "works", chapters=3, paragraphs=8)[: args.works] + [EXAMPLE]
        local_s, out = timed(["shelf", *map(str, works), "-o", str(tmp / "local"), *extra])
        segments = int(re.search(r"segments: (\d+) synthesized", out.splitlines()[-1]).group(1))
        ray_s, _ = timed(["shelf", *map(str, works), "-o", str(tmp / "ray"), "--ray", "local", *extra])
        startup, per_call = ray_costs()
        same = all(p.read_bytes() == (tmp / "ray" / p.relative_to(tmp / "local")).read_bytes()
                   for p in (tmp / "local").glob("*/*.mp3"))
        files = len(list((tmp / "local").glob("*/*.mp3")))
    overhead = (ray_s - startup - local_s) / segments
    print(f"shelf: {len(works)} works, {files} chapter files, {segments} segments")
    print(f"local (baseline):        {local_s:7.1f} s")
    print(f"ray, one-machine cluster: {ray_s:6.1f} s  ({ray_s / local_s:.2f}x the local time)")
    print(f"ray start-up and stop:    {startup:6.1f} s")
    print(f"ray overhead per segment: {overhead * 1000:6.1f} ms (after start-up); "
          f"empty actor round trip {per_call * 1000:.2f} ms")
    print(f"byte-identical MP3s:      {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
