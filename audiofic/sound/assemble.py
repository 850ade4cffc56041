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
import tempfile
import warnings
from pathlib import Path
from typing import Iterable, Iterator

with warnings.catch_warnings():
    # pydub warns at import when ffmpeg is missing; we say so ourselves, in one line, when it matters.
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

from ..errors import AudioficError
from ..publish.formats import CHANNELS, FORMATS, SAMPLE_RATE
from .pcmfile import read_entry

SAMPLE_WIDTH = 2
FFMPEG_INPUT = ["-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", str(CHANNELS)]
NOISE_AMPLITUDE = 6  # of 32767: a room-tone floor near -78 dBFS RMS, never digital silence


def require_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if not path:
        raise AudioficError("ffmpeg is not installed (Debian: apt-get install ffmpeg)")
    return path


def apply_gain(pcm: bytes, db: float) -> bytes:
    if not db:
        return pcm
    audio = AudioSegment(data=pcm, sample_width=SAMPLE_WIDTH, frame_rate=SAMPLE_RATE, channels=CHANNELS)
    return audio.apply_gain(db).raw_data


def segment_pcm(path: Path) -> bytes:
    """Raw PCM of one cached segment, converted to our format if an engine differs."""
    pcm, rate, channels = read_entry(path)
    audio = AudioSegment(data=pcm, sample_width=SAMPLE_WIDTH, frame_rate=rate, channels=channels)
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


def chapter_pcm(parts: Iterable[tuple[Path, int, float]], head_ms: int, tail_ms: int,
                marks: list[int] | None = None) -> Iterator[bytes]:
    """Room tone, then each (segment audio, pause after it, gain), then room tone. `marks`
    collects the sample position where each segment starts, and the end, for chapter marks."""
    position = 0
    for chunk_index, part in enumerate([None, *parts, None]):
        if part is None:
            chunk = room_tone(head_ms if chunk_index == 0 else tail_ms)
            if marks is not None and chunk_index:
                marks.append(position)
        else:
            path, pause_ms, gain = part
            if marks is not None:
                marks.append(position)
            chunk = apply_gain(segment_pcm(path), gain) + (room_tone(pause_ms) if pause_ms else b"")
        position += len(chunk) // SAMPLE_WIDTH
        yield chunk
    if marks is not None:
        marks.append(position)


def encode(pcm: Iterable[bytes], outputs: list[tuple[str, Path, str]], metadata: Path | None = None) -> float:
    """One ffmpeg reads the streamed PCM once and writes every (format, path, level chain)
    output; `metadata` is an FFMETADATA file with chapters (M4B)."""
    cmd = [require_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y"] + FFMPEG_INPUT + ["-i", "pipe:0"]
    if metadata is not None:
        cmd += ["-f", "ffmetadata", "-i", str(metadata), "-map_metadata", "1", "-map_chapters", "1"]
    if len(outputs) == 1:
        graph = f"[0:a]{outputs[0][2]}[o0]"
    else:
        graph = f"[0:a]asplit={len(outputs)}" + "".join(f"[s{i}]" for i in range(len(outputs))) + ";"
        graph += ";".join(f"[s{i}]{chain}[o{i}]" for i, (_f, _p, chain) in enumerate(outputs))
    cmd += ["-filter_complex", graph]
    for i, (fmt, path, _chain) in enumerate(outputs):
        cmd += ["-map", f"[o{i}]"] + FORMATS[fmt].encoder_args() + ["-f", FORMATS[fmt].muxer, str(path)]
    code, err, total = run_ffmpeg(cmd, pcm)
    if code != 0:
        for _fmt, path, _chain in outputs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        last = err.strip().splitlines()[-1] if err.strip() else "failed"
        raise AudioficError(f"ffmpeg could not encode {outputs[0][1].name}: {last}")
    return total / (SAMPLE_RATE * SAMPLE_WIDTH * CHANNELS)


def run_ffmpeg(cmd: list[str], pcm: bytes | Iterable[bytes]) -> tuple[int, str, int]:
    """Stream PCM into an ffmpeg command: (exit status, what it said on stderr, bytes fed).
    stderr goes to a file, so a talkative ffmpeg can never block on a full pipe."""
    total = 0
    with tempfile.TemporaryFile() as err:
        # In a process group of its own: a terminal's Ctrl-C goes to us, and we stop ffmpeg
        # (killed below), rather than ffmpeg dying first and looking like a failed encode.
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=err, stdout=subprocess.DEVNULL, process_group=0)
        try:
            for chunk in [pcm] if isinstance(pcm, bytes) else pcm:
                total += len(chunk)
                proc.stdin.write(chunk)
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        code = proc.wait()
        err.seek(0)
        return code, err.read().decode("utf-8", "replace"), total
