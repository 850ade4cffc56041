"""Assemble: a chapter's segment audio and pauses, streamed once into one ffmpeg encode.

Nothing is joined with repeated `AudioSegment +=` (quadratic): PCM goes straight into
ffmpeg's stdin, segment after segment, so time is linear and memory is one segment.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import Iterable, Iterator

with warnings.catch_warnings():
    # pydub warns at import when ffmpeg is missing; we say so ourselves, in one line, when it matters.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

from .errors import AudioficError

SAMPLE_RATE = 22050
SAMPLE_WIDTH = 2
CHANNELS = 1

# 22.05 kHz mono is what espeak-ng produces (no resampling) and covers speech's band;
# 64 kbit/s MP3 is transparent for a synthetic voice at that rate and ~29 MB per hour.
ENCODERS = {
    "mp3": ["-c:a", "libmp3lame", "-b:a", "64k"],
}
FFMPEG_INPUT = ["-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS)]
NOISE_AMPLITUDE = 6  # of 32767: a room-tone floor near -78 dBFS RMS, never digital silence


def require_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if not path:
        raise AudioficError("ffmpeg is not installed (Debian: apt-get install ffmpeg)")
    return path


def encoder_args(fmt: str) -> list[str]:
    return FFMPEG_INPUT + ["-i", "pipe:0"] + ENCODERS[fmt] + ["-ac", str(CHANNELS), "-ar", str(SAMPLE_RATE)]


def segment_pcm(path: Path) -> bytes:
    """Raw PCM of one cached segment, converted to our format if an engine differs."""
    audio = AudioSegment.from_wav(str(path))
    if (audio.frame_rate, audio.channels, audio.sample_width) != (SAMPLE_RATE, CHANNELS, SAMPLE_WIDTH):
        audio = audio.set_frame_rate(SAMPLE_RATE).set_channels(CHANNELS).set_sample_width(SAMPLE_WIDTH)
    return audio.raw_data


_ROOM_TONE = None


def room_tone(ms: int) -> bytes:
    """A pause: very low, deterministic noise, so players and ACX see no digital silence."""
    global _ROOM_TONE
    if _ROOM_TONE is None:
        rng = random.Random(20261122)
        one_second = bytearray()
        for _ in range(SAMPLE_RATE):
            one_second += rng.randint(-NOISE_AMPLITUDE, NOISE_AMPLITUDE).to_bytes(2, "little", signed=True)
        _ROOM_TONE = bytes(one_second)
    n_bytes = int(SAMPLE_RATE * ms / 1000) * SAMPLE_WIDTH
    reps = n_bytes // len(_ROOM_TONE) + 1
    return (_ROOM_TONE * reps)[:n_bytes]


def chapter_pcm(parts: Iterable[tuple[Path, int]], head_ms: int, tail_ms: int) -> Iterator[bytes]:
    """Room tone, then each (segment audio, pause after it), then room tone."""
    yield room_tone(head_ms)
    for path, pause_ms in parts:
        yield segment_pcm(path)
        if pause_ms:
            yield room_tone(pause_ms)
    yield room_tone(tail_ms)


def encode(pcm: Iterable[bytes], out_path: Path, fmt: str = "mp3", extra_args: list[str] | None = None) -> float:
    """Encode streamed PCM to `out_path` (written under a temporary name by the caller)."""
    cmd = [require_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    cmd += encoder_args(fmt) + (extra_args or []) + ["-f", fmt, str(out_path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    total = 0
    try:
        for chunk in pcm:
            total += len(chunk)
            proc.stdin.write(chunk)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    err = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.wait() != 0:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out_path)
        raise AudioficError(f"ffmpeg could not encode {out_path.name}: {err.splitlines()[-1] if err else 'failed'}")
    return total / (SAMPLE_RATE * SAMPLE_WIDTH * CHANNELS)
