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
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .assemble import SAMPLE_RATE, apply_gain, require_ffmpeg, segment_pcm
from .config import Voice
from .engines import get_engine
from .errors import AudioficError
from .synthesize import SynthJob, cache_key, cache_path, synthesize_job

PRESETS = {"audiobook": (-18.0, -3.0), "podcast": (-16.0, -1.0)}
REFERENCE = -24.0  # LUFS every voice is brought to before the chapter gain
PEAK_MARGIN = 3.0  # dB
CALIBRATION_HEADROOM = 0.8  # aim a little loud, so the per-file trim is nearly always a cut
MAX_TRIM_UP = 0.5  # dB a file may be raised after the limiter (peaks rise with it) kept below the true-peak ceiling for inter-sample and encoder overshoot
CALIBRATION = (
    "The lighthouse stood at the end of the long grey point, and every night its keeper climbed the "
    "hundred and twelve steps to light the lamp. \"Are you coming up?\" she called down the stairs. "
    "\"Not tonight,\" he answered, laughing, \"my knees are older than your tower!\" Outside, the wind "
    "threw rain against the glass, the boats rocked in the harbour, and somewhere a dog barked twice "
    "and then fell quiet. Nobody in the village could remember a storm like it, not even old Mrs. Penrose, "
    "who remembered everything and told it all, whether or not anyone had asked."
)


@dataclass(frozen=True)
class Loudness:
    target: float  # LUFS, integrated
    true_peak: float  # dBTP ceiling

    def label(self) -> str:
        return f"{self.target:g} LUFS, {self.true_peak:g} dBTP"


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
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=err, stdout=subprocess.DEVNULL)
        try:
            for chunk in [pcm] if isinstance(pcm, bytes) else pcm:
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        proc.wait()
        err.seek(0)
        out = err.read().decode("utf-8", "replace")
    loud = re.findall(r"^\s+I:\s+(-?[\d.]+|-inf) LUFS", out, re.M)
    peak = re.findall(r"^\s+Peak:\s+(-?[\d.]+|-inf) dBFS", out, re.M)
    if not loud:
        raise AudioficError("ffmpeg could not measure loudness")
    return float(loud[-1]), (float(peak[-1]) if peak else 0.0)


def limiter_filter(gain_db: float, loudness: Loudness) -> str:
    ceiling = 10 ** ((loudness.true_peak - PEAK_MARGIN) / 20)
    return f"volume={gain_db:.2f}dB,alimiter=limit={ceiling:.4f}:level=false:attack=2:release=40"


def trimmed(chain: str, measured: float, loudness: Loudness) -> str:
    """The chain plus the trim that lands this file on the target (measured through `chain`)."""
    trim = max(-12.0, min(MAX_TRIM_UP, loudness.target - measured))
    return f"{chain},volume={trim:.2f}dB"


class Levels:
    """Per-voice gains and the chapter filter, cached in the segment cache's levels.json."""

    def __init__(self, cache_dir: Path, loudness: Loudness):
        self.cache_dir = cache_dir
        self.loudness = loudness
        self.path = cache_dir / "levels.json"
        try:
            self.data = json.loads(self.path.read_text("utf-8"))
        except (OSError, ValueError):
            self.data = {}

    def _save(self) -> None:
        from .render import atomic_write_text  # the one atomic writer

        atomic_write_text(self.path, json.dumps(self.data, indent=1, sort_keys=True))

    def _calibration(self, voice: Voice) -> tuple[str, bytes]:
        key = cache_key(CALIBRATION, voice, get_engine(voice.engine).version())
        synthesize_job(SynthJob(key, CALIBRATION, voice), self.cache_dir)
        return key, segment_pcm(cache_path(self.cache_dir, key))

    def voice_gain(self, voice: Voice) -> float:
        """dB that bring this voice to REFERENCE without clipping a sample."""
        key, pcm = self._calibration(voice)
        if key not in self.data:
            loud, peak = measure(pcm)
            self.data[key] = {"lufs": loud, "peak": peak}
            self._save()
        entry = self.data[key]
        return round(min(REFERENCE - entry["lufs"], -entry["peak"] - 0.5), 2)

    def chapter_filter(self, narrator: Voice) -> str:
        """One gain and a limiter: REFERENCE → target, the limiter's loss made up."""
        key, pcm = self._calibration(narrator)
        tag = f"{key}:{self.loudness.target}:{self.loudness.true_peak}"
        if tag not in self.data:
            scaled = apply_gain(pcm, self.voice_gain(narrator))
            aim = self.loudness.target + CALIBRATION_HEADROOM
            gain = aim - REFERENCE
            for _ in range(6):  # the limiter takes more the harder it is driven: converge on it
                loud, _peak = measure(scaled, limiter_filter(gain, self.loudness))
                if abs(aim - loud) < 0.05:
                    break
                gain += aim - loud
            self.data[tag] = {"gain": round(gain, 2)}
            self._save()
        return limiter_filter(self.data[tag]["gain"], self.loudness)
