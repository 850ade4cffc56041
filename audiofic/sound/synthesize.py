"""Synthesize: each segment's speech, offline, into a content-addressed cache.

The cache key covers everything that changes the sound (engine and its version, voice,
rate, pitch, volume, the spoken text) and nothing else, so a voice change misses only the
segments that voice reads. Entries are FLAC (the engine's very samples, in under half a WAV's
room, with the engine's marks: where its sentences begin), written under a temporary name and
renamed, so a crash never leaves half an entry behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..engines import get_engine, read_marks
from ..publish.formats import SAMPLE_RATE
from ..errors import AudioficError
from ..files import writer_id
from ..model import Voice
from . import pcmfile

MIN_WORDS_PER_MINUTE_FACTOR = 2.0  # audio shorter than words / (rate * this) is not complete


@dataclass(frozen=True)
class SynthJob:
    key: str
    text: str
    voice: Voice


def cache_key(text: str, voice: Voice, engine_version: str) -> str:
    blob = json.dumps([engine_version, voice.as_dict(), text], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:40]


def cache_path(cache_dir: Path, key: str) -> Path:
    """A segment's cache entry: FLAC, or the WAV an older audiofic cached (still used)."""
    entry = cache_dir / key[:2] / f"{key}{pcmfile.FLAC}"
    if not entry.exists() and (legacy := entry.with_suffix(pcmfile.WAV)).exists():
        return legacy
    return entry


def cache_entry_ok(path: Path) -> bool:
    """A cached entry is whole; one cut short by a crash or a full disk is synthesized again,
    never used short."""
    return pcmfile.whole(path)


def wav_duration(path: Path) -> float:
    return pcmfile.duration(path)


def word_count(text: str) -> int:
    """Words as a listener hears them: combining marks (accents, or "zalgo" stacks) join
    their letter instead of splitting the word."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
    return len(re.findall(r"[^\W_]+(?:['’][^\W_]+)*", bare))


def check_complete(path: Path, text: str, rate: float) -> float:
    """Refuse audio that is missing, empty or too short for its words; return its length."""
    if not path.exists() or path.stat().st_size <= 44:
        raise AudioficError(f"the engine wrote no audio for: {text[:60]!r}")
    try:
        seconds = wav_duration(path)
    except (OSError, RuntimeError, EOFError) as exc:
        raise AudioficError(f"the engine wrote a broken WAV ({exc}) for: {text[:60]!r}") from None
    minimum = word_count(text) / (rate * MIN_WORDS_PER_MINUTE_FACTOR) * 60
    if seconds < minimum:
        raise AudioficError(
            f"incomplete audio: {seconds:.2f} s for {word_count(text)} words (expected at least {minimum:.2f} s)"
        )
    return seconds


def synthesize_job(job: SynthJob, cache_dir: Path, spare: bool = True) -> str:
    """Make sure the job's audio is in the cache; return its key. Runs in a worker. With
    `spare`, the engine's WAV stays beside the entry for its chapters to read (drop_spare)."""
    if cache_entry_ok(cache_path(cache_dir, job.key)):
        return job.key
    final = cache_dir / job.key[:2] / f"{job.key}{pcmfile.FLAC}"
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.parent.is_symlink():
        raise AudioficError(f"{final.parent} is a symbolic link; audiofic does not write through links in its cache")
    tmp = final.with_name(f".{job.key}.{writer_id()}.tmp.wav")
    packed = tmp.with_suffix(pcmfile.FLAC)
    try:
        if not job.text.strip():  # nothing left to say (a line of emoji): a moment of silence, no engine
            pcmfile.write_flac(packed, b"\0\0" * (SAMPLE_RATE // 10), SAMPLE_RATE)
        else:
            _speak_checked(job, tmp)
            if not pcmfile.compress(tmp, packed, read_marks(tmp)):
                packed, final = tmp, final.with_suffix(pcmfile.WAV)  # not 16-bit: kept as spoken
            elif spare:
                os.replace(tmp, pcmfile.spare(final))  # for its chapters to read (pcmfile.read_entry)
        os.replace(packed, final)
    finally:
        for leftover in (tmp, packed):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    if final.suffix == pcmfile.FLAC:  # a damaged entry of an older audiofic, replaced
        with contextlib.suppress(FileNotFoundError):
            final.with_suffix(pcmfile.WAV).unlink()
    return job.key


def drop_spare(cache_dir: Path, key: str) -> None:
    """The spare WAV of an entry whose chapters are made (or were stopped): only the FLAC stays."""
    pcmfile.spare(cache_dir / key[:2] / f"{key}{pcmfile.FLAC}").unlink(missing_ok=True)


def _speak_checked(job: SynthJob, tmp: Path) -> None:
    """The engine's WAV of the job at `tmp`, complete (a second try when the first is short)."""
    engine = get_engine(job.voice.engine)
    last_error = None
    for _attempt in range(2):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        engine.synthesize(job.text, job.voice, tmp)
        try:
            check_complete(tmp, job.text, job.voice.rate)
            return
        except AudioficError as exc:
            last_error = exc
    raise last_error


def init_worker() -> None:
    """Workers print nothing (pyttsx3 and espeak-ng talk on stdout) and leave Ctrl-C to the
    main process, which cancels the pool and cleans up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the worker
