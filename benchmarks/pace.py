"""Pace of every shipped voice at the default rate (run by hand, not by CI).

    .venv/bin/python benchmarks/pace.py [--engine pyttsx3|piper|kokoro]

`rate` in a voices file means words per minute of speech, calibrated per engine and voice on one
passage; this measures it on a different one (our example story's opening, narration and
dialogue) for the narrator and dialogue voices of the shipped presets and every voice the
casting palettes hand out. Target: 145-165 words per minute at the default rate of 155.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audiofic.casting.config import load_config, resolve_voices  # noqa: E402
from audiofic.engines import get_engine  # noqa: E402
from audiofic.model import Voice  # noqa: E402
from audiofic.sound.synthesize import wav_duration, word_count  # noqa: E402

EXAMPLE = ROOT / "examples" / "the-lighthouse-keepers-cat.md"


def passage() -> str:
    text = EXAMPLE.read_text("utf-8").split("# Chapter One: The Knock", 1)[1].split("# Chapter Two", 1)[0]
    return " ".join(text.split()[:110])


def voices(only: str | None) -> list[tuple[str, str]]:
    out = []
    for preset in (None, "neural"):
        config = load_config(resolve_voices(Path(preset)) if preset else None)
        out += [(config.narrator.engine, config.narrator.voice), (config.dialogue.engine, config.dialogue.voice)]
        palette = get_engine(config.dialogue.engine).palette("en-us")
        out += [(config.dialogue.engine, v) for v in dict.fromkeys(palette.female + palette.male + palette.neutral)]
    return [pair for pair in dict.fromkeys(out) if only in (None, pair[0])]


def main() -> None:
    only = sys.argv[sys.argv.index("--engine") + 1] if "--engine" in sys.argv else None
    text = passage()
    words = word_count(text)
    rates = []
    with tempfile.TemporaryDirectory() as tmp:
        for engine, voice in voices(only):
            started = time.perf_counter()
            out = Path(tmp) / "pace.wav"
            get_engine(engine).synthesize(text, Voice(engine, voice, 155, 50, 1.0), out)
            wpm = words / wav_duration(out) * 60
            rates.append(wpm)
            flag = "" if 145 <= wpm <= 165 else "   <- outside 145-165"
            print(f"{engine:<8} {voice:<34} {wpm:6.1f} wpm  ({time.perf_counter() - started:.1f} s){flag}", flush=True)
    print(f"{len(rates)} voices at rate 155: {min(rates):.1f}-{max(rates):.1f} words per minute of speech; "
          f"{sum(145 <= r <= 165 for r in rates)} within 145-165")


if __name__ == "__main__":
    main()
