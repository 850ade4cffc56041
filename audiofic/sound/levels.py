"""Levels: every voice brought to one loudness, and every file to the target.

espeak-ng voices differ in level and all of them peak near full scale (about -20.5 LUFS with
peaks near 0 dBTP), so a plain gain to -18 LUFS would clip. Each voice is measured once on a
fixed calibration passage and cached; its segments get the gain that brings it to REFERENCE.
The chapter then gets one gain and a peak limiter whose loudness loss was measured on the
narrator's calibration audio. One ffmpeg pass per file, no second listen to the chapter.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .assemble import SAMPLE_RATE, apply_gain, encode, require_ffmpeg, run_ffmpeg, segment_pcm
from ..engines import NARRATION_PASSAGE, get_engine
from ..errors import AudioficError
from ..files import atomic_write
from ..publish.formats import FORMATS
from ..model import Voice
from .synthesize import SynthJob, cache_entry_ok, cache_key, cache_path, synthesize_job

PRESETS = {"audiobook": (-18.0, -3.0), "podcast": (-16.0, -1.0)}
REFERENCE = -24.0  # LUFS every voice is brought to before the chapter gain
CALIBRATION_HEADROOM = 0.5  # aim a little loud, so the per-file trim is nearly always a cut
MAX_TRIM_UP = 0.5  # dB a file may be raised after the limiter (peaks rise with it)
CALIBRATION = NARRATION_PASSAGE  # read in every voice once, for its level (20 seconds or so)


@dataclass(frozen=True)
class Loudness:
    target: float  # LUFS, integrated
    true_peak: float  # dBTP ceiling


def parse_loudness(value: str) -> Loudness:
    """`audiobook`, `podcast`, or `LUFS,dBTP` such as `-19,-2`."""
    if value in PRESETS:
        return Loudness(*PRESETS[value])
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*", value or "")
    if not m:
        raise AudioficError(f"--loudness {value!r}: use audiobook, podcast or LUFS,dBTP such as -19,-2")
    target, peak = float(m.group(1)), float(m.group(2))
    if not -40 <= target <= -5 or not -12 <= peak <= 0:
        raise AudioficError(f"--loudness {value!r}: LUFS must be -40 to -5 and dBTP -12 to 0")
    return Loudness(target, peak)


def measure(pcm: bytes | Iterable[bytes], filters: str = "") -> tuple[float, float]:
    """(integrated LUFS, sample peak dBFS) of mono s16 PCM at our rate, by ffmpeg's ebur128."""
    chain = (filters + "," if filters else "") + "ebur128=peak=sample"
    cmd = [require_ffmpeg(), "-nostdin", "-hide_banner", "-nostats", "-f", "s16le", "-ar", str(SAMPLE_RATE),
           "-ac", "1", "-i", "pipe:0", "-af", chain, "-f", "null", "-"]
    code, out, _fed = run_ffmpeg(cmd, pcm)
    if code != 0:
        last = out.strip().splitlines()[-1] if out.strip() else f"exit status {code}"
        raise AudioficError(f"ffmpeg could not measure loudness: {last}")
    loud = re.findall(r"^\s+I:\s+(-?[\d.]+|-inf) LUFS", out, re.M)
    peak = re.findall(r"^\s+Peak:\s+(-?[\d.]+|-inf) dBFS", out, re.M)
    if not loud:
        raise AudioficError("ffmpeg could not measure loudness")
    return float(loud[-1]), (float(peak[-1]) if peak else 0.0)


def limiter_filter(gain_db: float, loudness: Loudness, fmt: str = "mp3") -> str:
    ceiling = 10 ** ((loudness.true_peak - FORMATS[fmt].peak_margin) / 20)
    return f"volume={gain_db:.2f}dB,alimiter=limit={ceiling:.4f}:level=false:attack=2:release=40"


def output_chain(gain_db: float, loudness: Loudness, fmt: str, trim: float | None = None) -> str:
    """Limit at the rate the encoder will use (Opus runs at 24 kHz), then trim; the codec's
    own low-pass costs a little loudness, made up by its codec offset. Without a trim, the
    chain to measure through."""
    spec = FORMATS[fmt]
    head = f"aresample={spec.limiter_rate}," if spec.limiter_rate else ""
    chain = f"{head}{limiter_filter(gain_db, loudness, fmt)}"
    if trim is None:
        return chain
    if not spec.raise_after_limit:
        trim = min(trim, 0.0)
    return f"{chain},volume={trim + spec.codec_offset:.2f}dB"


def trim(measured: float, loudness: Loudness) -> float:
    """The gain after the limiter that lands a file on the target, measured through it."""
    return max(-12.0, min(MAX_TRIM_UP, loudness.target - measured))


def encode_to_target(pcm: Callable[[list[int] | None], Iterable[bytes]], outputs: list[tuple[str, Path]],
                     gain_db: float, loudness: Loudness, metadata: Path | None = None,
                     positions: list[int] | None = None) -> float:
    """Listen once through the first format's limiter, then encode every (format, path) trimmed
    onto the target in one ffmpeg; `pcm(positions)` streams the audio afresh each time."""
    measured, _peak = measure(pcm(None), output_chain(gain_db, loudness, outputs[0][0]))
    adjust = trim(measured, loudness)
    chains = [(fmt, path, output_chain(gain_db, loudness, fmt, adjust)) for fmt, path in outputs]
    return encode(pcm(positions), chains, metadata=metadata)


def _level_ok(entry) -> bool:
    def number(key):
        return isinstance(entry.get(key), (int, float)) and not isinstance(entry.get(key), bool)
    return isinstance(entry, dict) and ((number("lufs") and number("peak")) or number("gain"))


class Levels:
    """Per-voice gains and the chapter filter, cached in the segment cache's levels.json."""

    def __init__(self, cache_dir: Path, loudness: Loudness):
        self.cache_dir = cache_dir
        self.loudness = loudness
        self.path = cache_dir / "levels.json"
        self.data = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text("utf-8"))
                if not isinstance(data, dict):
                    raise ValueError("not a table of levels")
            except (OSError, ValueError) as exc:
                warnings.warn(f"{self.path} could not be read ({exc}); the voices are measured again")
                return
            self.data = {k: v for k, v in data.items() if _level_ok(v)}
            if len(self.data) != len(data):
                warnings.warn(f"{self.path} was damaged; {len(data) - len(self.data)} voices are measured again")

    def _save(self) -> None:
        atomic_write(self.path, json.dumps(self.data, indent=1, sort_keys=True))

    @staticmethod
    def _key(voice: Voice) -> str:
        return cache_key(CALIBRATION, voice, get_engine(voice.engine).version(voice.voice))

    def _calibration(self, voice: Voice) -> bytes:
        """The calibration passage in this voice (synthesized once, cached like any segment)."""
        key = self._key(voice)
        synthesize_job(SynthJob(key, CALIBRATION, voice), self.cache_dir, spare=False)
        return segment_pcm(cache_path(self.cache_dir, key))

    def missing(self, voices: Iterable[Voice]) -> list[SynthJob]:
        """The calibration passages still to be spoken, to be spread over the workers first."""
        jobs = {}
        for voice in voices:
            key = self._key(voice)
            if key not in self.data and not cache_entry_ok(cache_path(self.cache_dir, key)):
                jobs[key] = SynthJob(key, CALIBRATION, voice)
        return list(jobs.values())

    def voice_gain(self, voice: Voice) -> float:
        """dB that bring this voice to REFERENCE without clipping a sample."""
        key = self._key(voice)
        if key not in self.data:
            loud, peak = measure(self._calibration(voice))
            self.data[key] = {"lufs": loud, "peak": peak}
            self._save()
        entry = self.data[key]
        return round(min(REFERENCE - entry["lufs"], -entry["peak"] - 0.5), 2)

    def chapter_gain(self, narrator: Voice) -> float:
        """The gain into the limiter that takes REFERENCE to the target, its loss made up."""
        tag = f"{self._key(narrator)}:{self.loudness.target}:{self.loudness.true_peak}"
        if tag not in self.data:
            scaled = apply_gain(self._calibration(narrator), self.voice_gain(narrator))
            aim = self.loudness.target + CALIBRATION_HEADROOM
            gain = aim - REFERENCE
            slope = 1.0  # LU out per dB in: under a limiter, less than 1
            last = None
            for _ in range(5):  # the limiter takes more the harder it is driven: converge on it
                loud, _peak = measure(scaled, limiter_filter(gain, self.loudness))
                if abs(aim - loud) < 0.1:
                    break
                if last is not None and gain != last[0] and loud != last[1]:
                    slope = max(0.2, min(1.0, (loud - last[1]) / (gain - last[0])))
                last = (gain, loud)
                gain += (aim - loud) / slope
            self.data[tag] = {"gain": round(gain, 2)}
            self._save()
        return self.data[tag]["gain"]
