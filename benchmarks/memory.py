"""Peak memory of a render against the size of the work (run by hand, not by CI).

    .venv/bin/python benchmarks/memory.py [MEGABYTES]   (default 2)

Builds a long work from our own example story (its chapters repeated under new titles), then
renders a tenth of it and the whole of it, sampling the summed resident memory of the render's
whole process group (main process, synthesis workers, ffmpeg). Streaming chapters means the peak
should hardly grow with the work: the ratio printed is peak(full) / peak(tenth).
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from group import run_with_peak  # noqa: E402
EXAMPLE = ROOT / "examples" / "the-lighthouse-keepers-cat.md"


def build(size: int) -> str:
    text = EXAMPLE.read_text("utf-8")
    header, _, body = text.partition("\n# ")
    chapters = ["# " + c for c in ("# " + body).split("\n# ") if c.strip()]
    chapters = [re.sub(r"^# #?\s*", "", c) for c in chapters]
    out, n = [header.replace("The Lighthouse Keeper's Cat", "The Long Watch"), ""], 0
    while sum(len(part) for part in out) < size:
        for chapter in chapters:
            n += 1
            title, _, rest = chapter.partition("\n")
            out.append(f"# Chapter {n}: {title.split(': ', 1)[-1]}\n{rest}")
    return "\n".join(out)


def peak_render(source: Path, out: Path) -> tuple[float, float]:
    seconds, peak = run_with_peak([sys.executable, "-m", "audiofic", "render", str(source), "-o", str(out)], cwd=ROOT)
    return peak, seconds


def main() -> None:
    size = int(float(sys.argv[1] if len(sys.argv) > 1 else 2) * 1_000_000)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        small, large = tmp / "tenth.md", tmp / "full.md"
        small.write_text(build(size // 10), "utf-8")
        large.write_text(build(size), "utf-8")
        small_peak, small_time = peak_render(small, tmp / "out-small")
        large_peak, large_time = peak_render(large, tmp / "out-large")
    print(f"source {size / 1e6:.1f} MB: peak {large_peak:.0f} MB in {large_time:.0f} s")
    print(f"source {size / 1e7:.2f} MB (baseline): peak {small_peak:.0f} MB in {small_time:.0f} s")
    print(f"peak ratio full/tenth: {large_peak / small_peak:.2f}x for 10x the text")


if __name__ == "__main__":
    main()
