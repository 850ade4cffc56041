"""Planning time and memory against the size of the work (run by hand, not by CI).

    .venv/bin/python benchmarks/planning.py [SOURCE]   (default: ../shared/seeds/000_…txt, else our example)

`audiofic script` runs every text stage (ingest, segment, discover, attribute, cast, plan) and
no audio, so its time is the planning a render does first. The source is repeated to 1, 3 and
30 MB; the target is linear growth: 30 MB within ten times the 3 MB figure, under 1 GB.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT.parent / "shared" / "seeds" / "000_184fd04babaf0899.txt"
EXAMPLE = ROOT / "examples" / "the-lighthouse-keepers-cat.md"


def timed_script(path: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "audiofic", "script", str(path)], stdout=subprocess.DEVNULL, check=True)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KB, the largest child so far
    return seconds, max(peak, before) / 1024


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else (SEED if SEED.exists() else EXAMPLE)
    text = source.read_text("utf-8-sig")
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        for mb in (1, 3, 30):
            path = Path(tmp) / f"work-{mb}.txt"
            copies = mb * 1_000_000 // len(text.encode()) + 1
            path.write_text((text + "\n\n") * copies, "utf-8")
            seconds, peak = timed_script(path)
            figures[mb] = seconds
            print(f"{mb:>3} MB: {seconds:6.1f} s, peak RSS so far {peak:6.0f} MB", flush=True)
    print(f"30 MB / 3 MB time: {figures[30] / figures[3]:.1f}x (linear is 10x; target <= 10x)")


if __name__ == "__main__":
    main()
