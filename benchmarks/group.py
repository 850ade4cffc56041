"""What the benchmarks share: the resident memory of a whole process group, sampled while a
command runs (main process, synthesis workers, ffmpeg)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path


def group_rss(pgid: int) -> int:
    """Bytes of memory the group holds: each process's proportional set size (PSS), so pages a
    forked child shares with its parent are counted once, not once per process; RSS where the
    kernel gives no PSS."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            if int(stat[2]) != pgid:
                continue
            try:
                rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
                total += int(next(line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:"))) * 1024
            except (OSError, StopIteration):
                total += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    return total


def run_with_peak(cmd: list[str], cwd: Path | None = None) -> tuple[float, float]:
    """(seconds, peak MB of the whole process group) of one command, which must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, start_new_session=True, cwd=cwd)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, group_rss(proc.pid))
        time.sleep(0.2)
    if proc.returncode:
        raise SystemExit(f"{' '.join(map(str, cmd[:4]))} … failed with {proc.returncode}")
    return time.perf_counter() - start, peak / 1e6
