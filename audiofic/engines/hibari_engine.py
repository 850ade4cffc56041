"""hibari (the `hibari-tts` package, Apache-2.0): an 8 MB model distilled from Kokoro-82M's
af_heart voice, with its own English spelling-to-sound rules (misaki's lexicon and rules, an
out-of-vocabulary network): no espeak-ng, fast on one CPU thread, 24 kHz.

Only the voice inside the wheel, `heart` (American English, female), is used: hibari downloads
its other voices on first use, and audiofic never downloads anything. The model predicts the
pitch of every 12.5 ms frame apart from the spectrum, so variants of the voice are the same
speech at another pitch, under the same or a stretched vocal tract: `heart+young`, `heart+tenor`
and the others in VARIANTS.
`rate` is words per minute, the voice's pace measured once at two speeds; `pitch` is ignored
(the variants are the pitch). The noise in the waveform is seeded from the text and the voice,
so the same segment always gives the same samples.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from types import SimpleNamespace

from ..errors import AudioficError
from . import Engine, Palette, VoiceInfo, length_scale_for, measure_paces, neural

PACKAGED = "heart"
# Each variant's pitch against the voice's own, and how far its spectral envelope is stretched
# (above 1 the formants move down, as in a longer vocal tract; below, up). Pitch alone, a little
# higher or lower, keeps the voice natural but the same person; the envelope makes another one
# (benchmarks/voices.py: "young" is 0.88 like heart, "baritone" 0.76, where 1 is the same speaker).
# A man's voice needs both, and only a light one passes our quality gate: lower sounds pitched down.
VARIANTS = {"": (1.0, 1.0), "bright": (1.15, 1.0), "light": (1.07, 1.0), "warm": (0.93, 1.0), "low": (0.86, 1.0),
            "young": (1.15, 0.9), "mature": (0.95, 1.05), "crisp": (1.1, 0.94), "small": (1.0, 0.92),
            "tenor": (0.8, 1.06), "baritone": (0.82, 1.13)}
MALE_VARIANTS = ("tenor", "baritone")
SAMPLE_RATE = 24000


def _hibari():
    try:
        from hibari import dsp, tts
    except ImportError:
        raise AudioficError("the hibari voice needs the hibari-tts package: install audiofic with its extras "
                            "(pip install -e '.[neural]', which ./install.sh does)") from None
    return tts, dsp


def _model_path() -> Path:
    """The packaged voice's model file; never a download."""
    _hibari()
    from hibari.voices import voice_path

    return Path(voice_path(PACKAGED, download_missing=False))


def split(voice: str) -> tuple[str, str]:
    base, _, variant = voice.partition("+")
    return base, variant


class HibariEngine(Engine):
    name = "hibari"
    ranges = {"rate": (80, 400), "pitch": (0, 99), "volume": (0.0, 1.0)}
    default_pitch = 50

    def __init__(self) -> None:
        self._tts = None
        self._pace: dict[str, tuple[float, float]] = {}

    def voices(self) -> list[VoiceInfo]:
        return [VoiceInfo(f"{PACKAGED}+{v}" if v else PACKAGED, f"hibari {PACKAGED}" + (f" ({v})" if v else ""),
                          ("en-us",), "male" if v in MALE_VARIANTS else "female") for v in VARIANTS]

    def check_voice(self, voice: str) -> None:
        base, variant = split(voice)
        if base != PACKAGED or variant not in VARIANTS:
            known = ", ".join(v.id for v in self.voices())
            raise AudioficError(f"unknown hibari voice {voice!r} (installed: {known}; hibari's other voices "
                                "are downloads, which audiofic never makes)")

    def language_of(self, voice: str) -> str:
        return "en-us"

    def palette(self, language: str) -> Palette:
        """Women from the variants least like heart and like each other first; two men."""
        female = tuple(f"{PACKAGED}+{v}" for v in ("young", "mature", "small", "crisp", "light", "bright"))
        male = (f"{PACKAGED}+baritone", f"{PACKAGED}+tenor")
        return Palette(female, male, (f"{PACKAGED}+low",) + male + female)

    def notes(self) -> str | None:
        return "One packaged voice (heart) and its pitch variants; English only."

    def version(self, voice: str = "") -> str:
        import hibari

        factor, warp = VARIANTS.get(split(voice)[1], (1.0, 1.0)) if voice else (1.0, 1.0)
        shape = f"; envelope x{warp}" if warp != 1.0 else ""  # so unwarped variants keep their cache
        return f"hibari {hibari.__version__}; model {neural.file_hash(_model_path())}; pitch x{factor}{shape}"

    def _model(self):
        if self._tts is None:
            tts, _dsp = _hibari()
            self._tts = tts.Hibari(PACKAGED, model=str(_model_path()), threads=1, g2p=english_g2p())
        return self._tts

    def _audio(self, text: str, voice: str, speed: float):
        np = neural.need("numpy")
        _tts, dsp = _hibari()
        model = self._model()
        factor, warp = VARIANTS[split(voice)[1]]
        seed = int.from_bytes(hashlib.sha256(f"{voice}\0{speed}\0{text}".encode()).digest()[:8], "little")
        rng = np.random.default_rng(seed)
        parts, marks, length = [], [], 0
        for phonemes, offset in phonemize_marked(text):
            ids = model.ids(phonemes)
            if len(ids) < 3:
                continue
            out = model.sess.run(None, {"ids": np.asarray([ids], np.int64), "speed": np.asarray([speed], np.float32)})
            lh, th, ln, lr, phi, f0 = (o[0] for o in out)
            if warp != 1.0:
                lh, th, ln, lr, phi = (_warped(part, warp) for part in (lh, th, ln, lr, phi))
            parts.append(dsp.synth(lh, th, ln, lr, phi, f0 * np.float32(factor), rng))
            if offset is not None:  # a sentence spoken on its own: its start in the audio is known
                marks.append((offset, length))
            length += len(parts[-1])
        return (np.concatenate(parts) if parts else np.zeros(int(0.1 * SAMPLE_RATE), np.float32)), marks

    def _speak(self, text: str, voice: str, speed: float, volume: float, out: Path) -> None:
        try:
            audio, marks = self._audio(text, voice, speed)
        except AudioficError:
            raise
        except Exception as exc:  # noqa: BLE001 - the model's own errors, as one line
            raise AudioficError(f"hibari could not speak a segment of {len(text)} characters ({exc})") from None
        neural.write_float_wav(out, audio, SAMPLE_RATE, volume, marks)

    def _speed(self, voice: str, rate: float) -> float:
        """hibari's speed for `rate` words per minute (speed is 1 / length scale)."""
        if voice not in self._pace:
            self._pace[voice] = measure_paces(lambda text, out, scale: self._speak(text, voice, 1 / scale, 1.0, out))
        return 1 / max(0.5, min(2.0, length_scale_for(rate, *self._pace[voice])))

    def synthesize(self, text: str, voice, path: Path) -> None:
        self.check_voice(voice.voice)
        self._speak(text, voice.voice, self._speed(voice.voice, voice.rate), voice.volume, path)


@cache
def english_g2p():
    """hibari's American English spelling-to-sound rules (misaki's phonemes), loaded once per
    process: the Kokoro engine reads them too, and the lexicon is about 120 MB."""
    _hibari()
    from hibari.g2p import G2P

    return G2P(british=False)


LEXICON_PHONEMES = re.compile(r"(\[\[[^\]]*\]\])")


def phonemize(text: str) -> list[str]:
    """misaki's phonemes for `text`, a sentence (or a clause of a long one) per string. A
    lexicon entry in espeak-ng's phonemes ([[w'In]]) is said as written: espeak-ng turns it
    into IPA, which is written in misaki's symbols and joined to the words around it."""
    return [phonemes for phonemes, _offset in phonemize_marked(text)]


def phonemize_marked(text: str) -> list[tuple[str, int | None]]:
    """phonemize's strings, each with the offset in `text` of the sentence it begins (None for
    the second clause of a long sentence): hibari's own sentences, phonemized one by one as
    hibari does."""
    tts, _dsp = _hibari()
    one = SimpleNamespace(split_sentences=lambda sentence: [sentence], g2p=english_g2p())
    out: list[tuple[str, int | None]] = []
    joined = False  # the next words go on in the same sentence as an entry
    start = 0
    for piece in LEXICON_PHONEMES.split(text):
        if piece.startswith("[["):
            said = neural.misaki(neural.phonemes(piece, "en-us")).rstrip(".")
            if out and joined:
                out[-1] = (f"{out[-1][0]} {said}", out[-1][1])
            else:
                out.append((said, start))
            joined = True
        elif piece.strip():
            parts, at = [], 0
            for sentence in tts.Hibari.split_sentences(piece):
                where = piece.find(sentence, at)
                at = max(at, where + len(sentence))
                begins = start + where + len(sentence) - len(sentence.lstrip()) if where >= 0 else None
                parts += [(ps, begins if n == 0 else None) for n, ps in enumerate(tts.Hibari.phonemize(one, sentence))]
            if parts and out and joined and not re.match(r"\s*[.!?]", piece):
                out[-1] = (f"{out[-1][0]} {parts.pop(0)[0]}", out[-1][1])
            out += parts
            joined = bool(parts) and not re.search(r"[.!?…][\"”’)\]]*\s*$", piece)
        start += len(piece)
    return [(short, offset if n == 0 else None)
            for run, offset in out for n, short in enumerate(neural.chunks(run, tts.MAX_PHONEMES))]


def _warped(frames, warp: float):
    """One of the model's spectral parts ([bins, frames]) with its frequency axis stretched:
    output bin k takes the value at input bin k * warp (linear between bins, the top bin beyond)."""
    np = neural.need("numpy")
    bins = frames.shape[0]
    where = np.minimum(np.arange(bins, dtype=np.float32) * np.float32(warp), bins - 1)
    low = np.floor(where).astype(np.int64)
    high = np.minimum(low + 1, bins - 1)
    share = (where - low)[:, None].astype(np.float32)
    return np.ascontiguousarray(frames[low] * (1 - share) + frames[high] * share, dtype=np.float32)


ENGINE = HibariEngine
