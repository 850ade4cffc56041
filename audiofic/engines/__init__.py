"""Speech engines behind one small interface; a new engine is one new module.

An engine turns text and a Voice into a WAV file (mono, 16-bit) and knows its own voices:
which there are, which to cast for each gender, which suits a language, and what range its
rate, pitch and volume take. Everything else (caching, checking, joining) is the pipeline's.

Built-in engines live here as `<name>_engine.py` and are named by `<name>` in a voices file;
an engine from elsewhere is named by its import path, `package.module:Class`.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import math
import os
import signal
import pkgutil
import re
import tempfile
import warnings
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import AudioficError, one_line
from ..model import Voice


# What every engine's pace (and levels.py each voice's level) is measured on: narration, dialogue
# and their pauses, as stories have them. `rate` in a voices file is words per minute of this.
PACE_PASSAGE = (
    "The lighthouse stood at the end of the long grey point, and every night its keeper climbed the "
    "hundred and twelve steps to light the lamp. \"Are you coming up?\" she called down the stairs. "
    "\"Not tonight,\" he answered, laughing, \"my knees are older than your tower!\" Outside, the wind "
    "threw rain against the glass, the boats rocked in the harbour, and somewhere a dog barked twice "
    "and then fell quiet. Nobody in the village could remember a storm like it, not even old Mrs. Penrose, "
    "who remembered everything and told it all, whether or not anyone had asked."
)


# Engines pause differently at punctuation, so pace is measured on dialogue and on plain narration.
NARRATION_PASSAGE = (
    "Morning came slowly over the marsh. The ferryman untied his boat, checked the oars twice, and pushed "
    "off into the grey water without a word to anyone. Halfway across he stopped rowing and listened, "
    "because the birds had gone silent all at once, and that had never meant anything good."
)


FICTION_SYLLABLES_PER_WORD = 1.4  # English fiction's words are short: about 1.4 syllables each


def syllables(text: str) -> int:
    """Syllables, near enough for a pace: groups of vowel letters."""
    return len(re.findall(r"[aeiouy]+", text.lower()))


def measure_pace(speak: Callable[[str, Path], None]) -> float:
    """Words per minute of speech over the pace passages, as `speak(text, path)` writes them,
    counted in words of a story's usual length: the passages' words are longer than most
    fiction's, and a voice says syllables, not words, at its pace."""
    said = seconds = 0.0
    fd, name = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        for text in (PACE_PASSAGE, NARRATION_PASSAGE):
            speak(text, Path(name))
            with wave.open(name, "rb") as wav:
                seconds += wav.getnframes() / wav.getframerate()
            said += syllables(text) / FICTION_SYLLABLES_PER_WORD
    finally:
        os.unlink(name)
    return said / seconds * 60


SLOW = 1.5  # the second length scale pace is measured at


def measure_paces(speak_at: Callable[[str, Path, float], None]) -> tuple[float, float]:
    """A voice's pace at length scale 1 and at SLOW, as `speak_at(text, path, scale)` writes it:
    the two figures length_scale_for needs."""
    return tuple(measure_pace(lambda text, out, s=scale: speak_at(text, out, s)) for scale in (1.0, SLOW))


def length_scale_for(rate: float, pace: float, slow_pace: float) -> float:
    """The length scale that makes a neural voice speak `rate` words per minute, from its pace at
    scale 1 and at SLOW: stretching a model's phonemes does not stretch its pauses alike, so pace
    falls as a power of the scale (about scale^-0.77 for Piper's joe), not in proportion."""
    exponent = math.log(pace / slow_pace) / math.log(SLOW) if slow_pace < pace else 1.0
    return (pace / rate) ** (1 / exponent)


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


@dataclass(frozen=True)
class Palette:
    """Voices to cast characters from, each list in order of distinctness; pitch steps are
    added round by round once every voice of a list has been given out."""

    female: tuple[str, ...]
    male: tuple[str, ...]
    neutral: tuple[str, ...]
    pitch_steps: tuple[float, ...] = (0.0,)


class Engine:
    """The interface every engine implements; the defaults suit an engine with few voices."""

    name = "engine"
    # The values a voices file may give; the same rules for [narrator], [dialogue] and characters.
    ranges: dict[str, tuple[float, float]] = {"rate": (80, 500), "pitch": (0, 99), "volume": (0.0, 1.0)}
    default_pitch: float = 50

    def version(self, voice: str = "") -> str:
        """Changes whenever the same text in `voice` could sound different (engine, model)."""
        raise NotImplementedError

    def voices(self) -> list[VoiceInfo]:
        raise NotImplementedError

    def check_voice(self, voice: str) -> None:
        """Raise AudioficError naming the available voices if `voice` is unknown."""
        if voice not in {v.id for v in self.voices()}:
            known = ", ".join(v.id for v in self.voices())
            raise AudioficError(f"unknown voice {voice!r} for engine {self.name} (available: {known})")

    def language_of(self, voice: str) -> str:
        """The language a voice speaks, as an ISO code."""
        info = next((v for v in self.voices() if v.id == voice), None)
        return info.languages[0] if info and info.languages else "en"

    def voice_for_language(self, language: str, role: str = "narrator") -> str | None:
        """This engine's voice for a language code and role ("narrator" or "dialogue"), or None."""
        return None

    def palette(self, language: str) -> Palette:
        """The voices to cast characters from, for a work in `language`."""
        def of(gender):
            return tuple(v.id for v in self.voices() if v.gender == gender)
        female, male = of("female"), of("male")
        return Palette(female, male, _interleave(male, female) + of(None))

    def notes(self) -> str | None:
        """Anything `audiofic voices` should say after the list."""
        return None

    def synthesize(self, text: str, voice: Voice, path: Path) -> None:
        """Write `text` spoken in `voice` to the WAV file `path`, completely, before returning.
        An engine that knows where stretches of the text begin in its audio (a word, a sentence
        it spoke on its own) gives them to write_wav as marks: captions are then exact there."""
        raise NotImplementedError


MARKS_CHUNK = b"afmk"  # a RIFF chunk of audiofic's own after the samples: every WAV reader skips it


def write_wav(path: Path, pcm: bytes, sample_rate: int, marks: list[tuple[int, int]] = ()) -> None:
    """Mono 16-bit PCM to a WAV file: what every engine writes and the cache holds. `marks`:
    (character offset into the text spoken, the sample at which speech from there begins), kept
    in the file for the cache (read_marks)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sample_rate)
        out.writeframes(pcm)
    if marks:
        body = marks_text(marks).encode("ascii")
        body += b" " * (len(body) % 2)  # RIFF chunks have even lengths
        with open(path, "r+b") as fh:
            fh.seek(0, os.SEEK_END)
            fh.write(MARKS_CHUNK + len(body).to_bytes(4, "little") + body)
            size = fh.tell()
            fh.seek(4)
            fh.write((size - 8).to_bytes(4, "little"))


def marks_text(marks: list[tuple[int, int]]) -> str:
    """Marks as "char:sample" pairs: how a WAV's chunk and a cached FLAC's comment keep them."""
    return " ".join(f"{char}:{sample}" for char, sample in marks)


def parse_marks(text: str) -> list[tuple[int, int]]:
    pairs = (item.partition(":") for item in text.split())
    return [(int(char), int(sample)) for char, _, sample in pairs if char.isdigit() and sample.isdigit()]


def read_marks(wav: Path) -> list[tuple[int, int]]:
    """The marks write_wav kept in a WAV (none where it kept none)."""
    with open(wav, "rb") as fh:
        data = fh.read()
    at = 12
    while at + 8 <= len(data):
        size = int.from_bytes(data[at + 4:at + 8], "little")
        if data[at:at + 4] == MARKS_CHUNK:
            return parse_marks(data[at + 8:at + 8 + size].decode("ascii", "replace"))
        at += 8 + size + size % 2
    return []


_LIBC = ctypes.CDLL(None)


def in_fresh_child(speak: Callable[[], None], what: str, here: bool = False) -> None:
    """Run `speak` in a forked child of this process as it is now, and wait for it.

    Synthesizers keep state from one utterance to the next (espeak-ng's pitch flutter, the
    random generators inside a neural model), so the same text came out differently depending
    on what was said before it. A child forked from a state that never speaks starts from the
    same place every time: the same text and voice give the same samples. Whatever `speak`
    raises, or a child that dies, raises here at once as one line. With `here`, `speak` runs in
    this process (for what cannot cross a fork: a GPU's context), its errors reported alike."""
    if here:
        try:
            return speak()
        except Exception as exc:  # noqa: BLE001 - one line for the user, as from a child
            raise AudioficError(f"{what}: {one_line(exc, with_type=True)}") from None
    read, write = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # an engine's idle native threads are not needed
        pid = os.fork()
    if pid == 0:  # the child: speak, report, and leave without running any Python clean-up
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        gc.disable()  # it lives for one segment: a collection would only copy the parent's pages
        os.close(read)
        _LIBC.srand(1)  # the C library's noise as a new process has it, whatever the parent drew
        problem = None
        try:
            speak()
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises
            problem = one_line(exc, with_type=True)
        if problem:
            os.write(write, problem.encode("utf-8", "replace")[:1000])
        os._exit(1 if problem else 0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        problem = pipe.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if status != 0:
        raise AudioficError(f"{what}: {problem or f'it stopped with status {status}'}")


def _interleave(first, second) -> tuple[str, ...]:
    return tuple(v for pair in zip(first, second) for v in pair)


_instances: dict[str, Engine] = {}


def get_engine(name: str) -> Engine:
    """One engine instance per process, so each loads its voices or models once."""
    if name not in _instances:
        _instances[name] = _load(name)()
    return _instances[name]


def release_engines() -> None:
    """Drop this process's engines (and the models they hold): the main process needs them only
    to measure levels; the workers load their own."""
    _instances.clear()
    gc.collect()
    if hasattr(_LIBC, "malloc_trim"):  # glibc keeps freed memory for reuse; a model's worth is given back
        _LIBC.malloc_trim(0)


def builtin_engines() -> list[str]:
    return sorted(m.name[: -len("_engine")] for m in pkgutil.iter_modules(__path__) if m.name.endswith("_engine"))


def _load(name: str) -> type[Engine]:
    if ":" in name:
        module_name, _, attr = name.partition(":")
    elif name in builtin_engines():
        module_name, attr = f"{__name__}.{name}_engine", "ENGINE"
    else:
        raise AudioficError(f"unknown engine {name!r} (known: {', '.join(builtin_engines())}, or module:Class)")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise AudioficError(f"engine {name!r} cannot be loaded ({exc})") from None
    if not (isinstance(found, type) and issubclass(found, Engine)):  # checked before anything is called
        raise AudioficError(f"engine {name!r} is not an audiofic engine (a subclass of audiofic.engines.Engine)")
    return found
