"""Caption times against espeak-ng's own sentence marks (run by hand, not by CI):

    .venv/bin/python benchmarks/caption_exact.py [SOURCE] [--chapter 1-3]

Renders SOURCE (default: ../shared/seeds/000_…txt) with --voices classic and --captions, then
speaks every multi-sentence segment again in this process with the very settings the engine used,
keeping espeak-ng's SENTENCE events (the sample at which each sentence's speech starts): the
exact answer, where the audio is the same sample for sample as the cached entry and espeak-ng
counts as many sentences as the captions do. It prints how far audiofic's sentence starts (at the
engine's marks, kept in the cache, else found at the pauses of the audio: sound/timing.py) are
from it, how far they were when found at the pauses only (audiofic before marks), and, as the
baseline measured in the same run, how far each sentence's share of its segment's letters is.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["PULSE_SERVER"] = "none"

from audiofic.engines import get_engine  # noqa: E402
from audiofic.engines.pyttsx3_engine import _collect, _commands, _initialised, _plain  # noqa: E402
from audiofic.run.plan import Options, prepare  # noqa: E402
from audiofic.run.readalong import sentence_times  # noqa: E402
from audiofic.run.state import Manifest, cache_dir_for  # noqa: E402
from audiofic.sound import assemble  # noqa: E402
from audiofic.sound.synthesize import cache_path  # noqa: E402
from audiofic.sound.timing import sentence_starts  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "seeds" / "000_184fd04babaf0899.txt"


def in_child(fn):
    """Run fn in a forked child, as the engine speaks each segment (espeak-ng carries state from
    one text to the next); its result comes back pickled through a pipe."""
    import pickle

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        with os.fdopen(write, "wb") as out:
            out.write(pickle.dumps(fn()))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as data:
        result = pickle.loads(data.read())
    os.waitpid(pid, 0)
    return result


def speak_with_marks(engine, lib, text: str, voice) -> tuple[bytes, list[int]]:
    engine._espeak_rate(voice.voice, voice.rate)  # measured once, before the child, and kept
    return in_child(lambda: _speak_with_marks(engine, lib, text, voice))


def _speak_with_marks(engine, lib, text: str, voice) -> tuple[bytes, list[int]]:
    samples, marks = [], []

    def collect(wav, count, events):
        if count > 0:
            samples.append(ctypes.string_at(wav, count * 2))
        i = 0
        while events[i].type != lib.EVENT_LIST_TERMINATED:
            if events[i].type == lib.EVENT_SENTENCE:
                marks.append(events[i].sample)
            i += 1
        return 0

    rate = engine._espeak_rate(voice.voice, voice.rate)  # (measured with the engine's own callback)
    lib.SetSynthCallback(collect)
    try:
        lib.SetVoiceByName(voice.voice.encode())
        lib.Synth((_commands(rate, voice.pitch, voice.volume) + _plain(text)).encode(),
                  flags=lib.ENDPAUSE | lib.CHARS_UTF8)
    finally:
        lib.SetSynthCallback(_collect)
    return b"".join(samples), marks


def summary(errors: list[float]) -> str:
    errors = sorted(errors)
    if not errors:
        return "nothing compared"
    pick = lambda q: errors[min(len(errors) - 1, int(q * len(errors)))]  # noqa: E731
    return (f"median {pick(0.5):.3f} s, p90 {pick(0.9):.3f} s, max {errors[-1]:.3f} s; "
            f"within 0.3 s: {sum(e <= 0.3 for e in errors) / len(errors):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--chapter", action="append", default=[])
    args = parser.parse_args()
    chapters = [a for c in args.chapter for a in ("--chapter", c)]
    engine = get_engine("pyttsx3")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        env = dict(os.environ, AUDIOFIC_VOICES="classic")
        subprocess.run([sys.executable, "-m", "audiofic", "render", str(args.source), "-o", str(out), "--captions",
                        *chapters], check=True, stdout=subprocess.DEVNULL, env=env)
        os.environ["AUDIOFIC_VOICES"] = "classic"
        ready = prepare(args.source, Options(output=out))
        manifest, cache = Manifest.of(ready.out_dir), cache_dir_for(ready.out_dir, None)
        lib, rate = _initialised()
        ours, pauses, letters, segments, same, counted, worst = [], [], [], 0, 0, 0, []
        for cp in ready.plan.chapters:
            record = manifest.get(cp.chapter.number)
            if not record or not record.starts:
                continue
            for i, p, parts, times, end in sentence_times(cp, cache, record.starts):
                if len(parts) < 2 or p.voice.engine != "pyttsx3":
                    continue
                segments += 1
                pcm, marks = speak_with_marks(engine, lib, p.speech, p.voice)
                cached = assemble.segment_pcm(cache_path(cache, p.key))
                if os.environ.get("DEBUG_EXACT"):
                    print(len(pcm), len(cached), pcm == cached, p.voice, flush=True)
                if pcm != cached:
                    continue
                same += 1
                if len(marks) != len(parts):
                    continue
                counted += 1
                begin = record.starts[i] / assemble.SAMPLE_RATE
                exact = [begin + m / rate for m in marks]
                length, weights = end - begin, [len(s) for s in parts]
                share = [begin + length * sum(weights[:k]) / sum(weights) for k in range(len(parts))]
                ours += [abs(a - b) for a, b in zip(times[1:], exact[1:])]
                found = [begin + t for t in sentence_starts(cached, assemble.SAMPLE_RATE, weights)]
                pauses += [abs(a - b) for a, b in zip(found[1:], exact[1:])]
                worst += [(abs(a - b), part) for a, b, part in zip(times[1:], exact[1:], parts[1:])]
                letters += [abs(a - b) for a, b in zip(share[1:], exact[1:])]
    print(f"{args.source.name}, classic: {segments} segments of several sentences; {same} spoken again to the "
          f"same samples; {counted} with espeak-ng's sentences counted as the captions count them")
    print(f"  audiofic (marks, else pauses), {len(ours)} sentence starts after the first: {summary(ours)}")
    print(f"  pauses only (before marks), the same sentences:     {summary(pauses)}")
    print(f"  letters' share (baseline), the same sentences:      {summary(letters)}")
    for error, part in sorted(worst, reverse=True)[:3]:
        if error > 0.3:
            print(f"  off by {error:.2f} s: {part[:70]!r}")


if __name__ == "__main__":
    main()
