"""Cached speech on disk: FLAC, encoded and decoded in-process (soundfile's bundled libsndfile),
so a cache holds the very samples the engine spoke in under half the room a WAV takes. WAV
entries an older audiofic cached are read the same way.
"""

from __future__ import annotations

import wave
from pathlib import Path

from ..engines import marks_text, parse_marks
from . import flacfile

FLAC = ".flac"
WAV = ".wav"
FLAC_EFFORT = 1.0  # libFLAC's level 8: 3 ms for 5 s of speech, about 4% smaller than its default
MARKS = "audiofic marks 1:"  # the FLAC comment that keeps an engine's marks with its samples


def _soundfile():
    import soundfile  # numpy comes with it: loaded when audio is touched, not for `--help`

    return soundfile


def spare(entry: Path) -> Path:
    """The engine's own WAV of an entry just synthesized, kept spare beside its FLAC until its
    chapters are made: a cold render then never decodes what it has just encoded."""
    return entry.with_name(f".{entry.stem}.spare{WAV}")


def read_entry(path: Path) -> tuple[bytes, int, int]:
    """A cached entry's (PCM, rate, channels): from its spare WAV where there is one (the FLAC
    holds the very same samples), else decoded."""
    if path.suffix == FLAC:
        try:
            with wave.open(str(spare(path)), "rb") as wav:
                return wav.readframes(wav.getnframes()), wav.getframerate(), wav.getnchannels()
        except (FileNotFoundError, EOFError, wave.Error):  # none, or another chapter's render just took it
            pass
    return read_pcm(path)


def read_pcm(path: Path) -> tuple[bytes, int, int]:
    """(16-bit little-endian PCM, sample rate, channels) of a FLAC or WAV file."""
    sf = _soundfile()
    with sf.SoundFile(str(path)) as audio:
        return bytes(audio.buffer_read(dtype="int16")), audio.samplerate, audio.channels


def duration(path: Path) -> float:
    """Seconds of audio, from the file's header."""
    info = _soundfile().info(str(path))
    return info.frames / float(info.samplerate)


def whole(path: Path) -> bool:
    """The file holds every sample its header promises: a file cut short by a crash or a full
    disk fails this (and is spoken again), never read short."""
    if path.suffix == WAV:
        return _whole_wav(path)
    sf = _soundfile()
    try:
        with sf.SoundFile(str(path)) as audio:
            if audio.format != "FLAC" or audio.frames <= 0:
                return False
            audio.seek(audio.frames - 1)  # decodes the last frame: a short file cannot
            return len(audio.buffer_read(1, dtype="int16")) == 2 * audio.channels
    except (OSError, RuntimeError, ValueError):  # soundfile.LibsndfileError is a RuntimeError
        return False


def _whole_wav(path: Path) -> bool:
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE" or int.from_bytes(head[4:8], "little") + 8 != size:
            return False
        with wave.open(str(path), "rb") as wav:
            return wav.getnframes() * wav.getsampwidth() * wav.getnchannels() <= size
    except (OSError, EOFError, wave.Error):
        return False


def compress(wav_path: Path, flac_path: Path, marks: list[tuple[int, int]] = ()) -> bool:
    """The WAV an engine wrote, as FLAC with the same samples (and the engine's marks); False
    (nothing written) when it is not 16-bit PCM, which FLAC would change: such a WAV is cached
    as it is."""
    with wave.open(str(wav_path), "rb") as wav:
        if wav.getsampwidth() != 2:
            return False
        rate, channels, pcm = wav.getframerate(), wav.getnchannels(), wav.readframes(wav.getnframes())
    write_flac(flac_path, pcm, rate, channels, marks)
    return True


def write_flac(path: Path, pcm: bytes, rate: int, channels: int = 1, marks: list[tuple[int, int]] = ()) -> None:
    comment = MARKS + marks_text(marks) if marks else None
    if flacfile.write(path, pcm, rate, channels, comment):
        return
    sf = _soundfile()
    with sf.SoundFile(str(path), "w", samplerate=rate, channels=channels, format="FLAC", subtype="PCM_16",
                        compression_level=FLAC_EFFORT) as out:
        if comment:  # set before the first samples: libsndfile writes its comments with the header
            out.comment = comment
        out.buffer_write(pcm, dtype="int16")


def read_marks(path: Path) -> list[tuple[int, float]]:
    """The engine's marks kept in a cached entry: (character offset into the text it spoke,
    seconds into its audio); none for an entry without them (a WAV, an engine that keeps none)."""
    if path.suffix != FLAC:
        return []
    sf = _soundfile()
    try:
        with sf.SoundFile(str(path)) as audio:
            comment, rate = audio.comment or "", audio.samplerate
    except (OSError, RuntimeError, ValueError):
        return []
    if not comment.startswith(MARKS):
        return []
    return [(char, sample / rate) for char, sample in parse_marks(comment[len(MARKS):])]
