"""Planning time and memory against the size and shape of the work (run by hand, not by CI).

    .venv/bin/python benchmarks/planning.py [SOURCE] [--sizes 1,3,30] [--paragraphs] [--long-paragraphs]
                                            [--one-paragraph]   (the shapes to run; default all)
    (default source: ../shared/seeds/000_…txt, else our example)

Two shapes of the same text, repeated to 1, 3 and 30 MB: as written (paragraphs), and as some
of the largest works are posted, very long paragraphs (each copy of the source one paragraph:
tens of thousands of words without a line break), and the whole work one paragraph. Three commands: `info` (reading), `script`
(every text stage: ingest, segment, discover, attribute, cast, plan) and a render's planning
(`prepare`, what `render` does before any audio). Target: linear growth whatever the shape, 30 MB
within ten times the 3 MB figure, under 1 GB.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audiofic.read.ingest import parse_header  # noqa: E402
SEED = ROOT.parent / "shared" / "seeds" / "000_184fd04babaf0899.txt"
EXAMPLE = ROOT / "examples" / "the-lighthouse-keepers-cat.md"
PLAN_ONLY = ("import sys; from pathlib import Path; from audiofic.run.plan import Options, prepare; "
             "prepare(Path(sys.argv[1]), Options(output=Path(sys.argv[2])))")
COMMANDS = {
    "info": lambda path, out: [sys.executable, "-m", "audiofic", "info", str(path)],
    "script": lambda path, out: [sys.executable, "-m", "audiofic", "script", str(path), "-o", str(out)],
    "render planning": lambda path, out: [sys.executable, "-c", PLAN_ONLY, str(path), str(out)],
}


def measured(cmd: list[str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one command in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


SHAPES = ("paragraphs", "long paragraphs", "one paragraph")


def shaped(text: str, shape: str, copies: int) -> str:
    """`copies` of the text: as written; each copy one paragraph; or all of it one paragraph
    (the header block kept as it is, so the story stays the story)."""
    body_start = parse_header(text)[2]
    head, body = text[:body_start], text[body_start:]
    if shape == "paragraphs":
        return (text + "\n\n") * copies
    flat = re.sub(r"\s*\n\s*", " ", body)
    if shape == "long paragraphs":
        return (head + "\n\n" + flat + "\n\n") * copies
    return head + "\n\n" + " ".join([flat] * copies) + "\n"


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    sizes = [1, 3, 30]
    if "--sizes" in sys.argv:
        sizes = [int(s) for s in sys.argv[sys.argv.index("--sizes") + 1].split(",")]
        args = [a for a in args if a != sys.argv[sys.argv.index("--sizes") + 1]]
    source = Path(args[0]) if args else (SEED if SEED.exists() else EXAMPLE)
    shapes = [s for s in SHAPES if f"--{s.replace(' ', '-')}" in sys.argv] or SHAPES
    text = source.read_text("utf-8-sig")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in shapes:
            figures: dict[tuple[str, int], float] = {}
            for mb in sizes:
                path = Path(tmp) / f"work-{mb}.txt"
                path.write_text(shaped(text, shape, mb * 1_000_000 // len(text.encode()) + 1), "utf-8")
                for name, command in COMMANDS.items():
                    seconds, peak = measured(command(path, Path(tmp) / "out"))
                    figures[name, mb] = seconds
                    print(f"{shape:<16} {name:<16} {mb:>3} MB: {seconds:7.1f} s, peak {peak:6.0f} MB", flush=True)
            if len(sizes) > 1:
                small, big = sizes[-2], sizes[-1]
                print(f"{shape}: {big} MB / {small} MB time: "
                      + ", ".join(f"{name} {figures[name, big] / figures[name, small]:.1f}x" for name in COMMANDS)
                      + f" (linear is {big / small:.0f}x)", flush=True)


if __name__ == "__main__":
    main()
