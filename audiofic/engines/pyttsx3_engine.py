"""espeak-ng through pyttsx3's binding to libespeak-ng, one fresh synthesizer per segment.

pyttsx3's event loop has Linux traps (GUIDE.md: runAndWait returns before the WAV is written,
queued properties leak between segments, an error in its callback thread is swallowed and the
caller waits forever) and espeak-ng keeps state from one utterance to the next (its pitch
flutter runs on), so the same text came out a few samples different depending on what was
spoken before it. This engine initialises espeak-ng once per process in synchronous mode
through pyttsx3's `_espeak` binding and speaks each segment in a forked child of that pristine
state: the same text and voice give the same samples, every time, in any order, and a failure
(disk full, say) comes back as an error at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import difflib
import os
import subprocess
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path

from ..errors import AudioficError
from . import Engine, Palette, VoiceInfo, _interleave, in_fresh_child, length_scale_for, measure_paces, write_wav

ESPEAK_HINT = "espeak-ng is not installed (Debian: apt-get install espeak-ng)"

# Accent and variant differ first; pitch varies once a palette has been used up.
FEMALE_VOICES = ("en+f2", "en-us+f4", "en-029+f1", "en-gb-scotland+f3", "en-gb-x-gbclan+f5",
                 "en-us+f2", "en-gb-x-rp+f4", "en-gb-x-gbcwmd+f1")
MALE_VOICES = ("en+m3", "en-us+m1", "en-gb-scotland+m2", "en-029+m4", "en-gb-x-gbclan+m7",
               "en-gb-x-rp+m5", "en-us+m6", "en-gb-x-gbcwmd+m3")
PITCH_STEPS = (0, -12, 12)
DIALOGUE_VARIANT = "+f3"
REFERENCE_RATE = 175  # espeak-ng's rate setting that each voice's pace is measured at (and at 175 / engines.SLOW)


def split_variant(voice: str) -> tuple[str, str | None]:
    """'gmw/en-us+f3' → ('en-us', 'f3'): the espeak voice id and its variant."""
    base, _, variant = voice.partition("+")
    return base.split("/")[-1], (variant or None)


class Pyttsx3Engine(Engine):
    name = "pyttsx3"
    ranges = {"rate": (80, 500), "pitch": (0, 99), "volume": (0.0, 1.0)}
    default_pitch = 50

    def __init__(self) -> None:
        self._pace: dict[str, tuple[float, float]] = {}

    def _espeak(self):
        if not espeak_available():
            raise AudioficError(ESPEAK_HINT)
        return _initialised()[0]

    def version(self, voice: str = "") -> str:
        return _version()

    def voices(self) -> list[VoiceInfo]:
        return list(_voice_list(self))

    def check_voice(self, voice: str) -> None:
        base, variant = split_variant(voice)
        ids = {v.id for v in self.voices()}
        if base not in ids:
            close = difflib.get_close_matches(base, sorted(ids), n=3, cutoff=0.5)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            english = [v for v in ("en-us", "en", "en-gb-scotland", "en-gb-x-rp", "en-029") if v in ids]
            raise AudioficError(f"unknown voice {voice!r}.{hint} Available: {', '.join(english)} and "
                                f"{len(ids) - len(english)} more (`audiofic voices` lists them)")
        if variant and espeak_variants() and variant not in espeak_variants():
            raise AudioficError(
                f"unknown voice variant {variant!r} in {voice!r}. Available: {', '.join(espeak_variants())}"
            )

    def voice_for_language(self, language: str, role: str = "narrator") -> str | None:
        """The espeak-ng voice for an ISO code ("es", "pt-br"), or None."""
        ids = {v.id for v in self.voices()}
        for candidate in (language.lower(), language.lower().split("-")[0]):
            if candidate in ids:
                return candidate + (DIALOGUE_VARIANT if role == "dialogue" else "")
        return None

    def language_of(self, voice: str) -> str:
        return voice.split("+")[0]

    def palette(self, language: str) -> Palette:
        """English accents crossed with variants; for another language, variants of its voice."""
        if language.startswith("en"):
            female, male = FEMALE_VOICES, MALE_VOICES
        else:  # variants of the work's own language, never English voices
            female = tuple(f"{language}+f{i}" for i in (2, 4, 1, 5))
            male = tuple(f"{language}+m{i}" for i in (3, 1, 2, 4, 7, 5))
        return Palette(female, male, _interleave(male, female), PITCH_STEPS)

    def notes(self) -> str | None:
        return f"Variants, added as voice+variant (e.g. en-us+f3):\n{' '.join(espeak_variants())}"

    def _espeak_rate(self, voice: str, rate: float) -> int:
        """espeak-ng's own rate setting runs fast (175 gives about 216 words a minute of speech):
        each voice's pace is measured once at two settings, so `rate` is words per minute as a
        listener counts (its pauses do not stretch with the setting: pace is not in proportion)."""
        if voice not in self._pace:
            lib = self._espeak()
            self._pace[voice] = measure_paces(lambda text, out, scale: in_fresh_child(
                lambda: self._speak_to_file(lib, _commands(REFERENCE_RATE / scale, 50, 1.0) + text, voice, out),
                "espeak-ng could not measure its pace"))
        return max(80, min(450, round(REFERENCE_RATE / length_scale_for(rate, *self._pace[voice]))))

    def synthesize(self, text: str, voice, path: Path) -> None:
        lib = self._espeak()
        rate = self._espeak_rate(voice.voice, voice.rate)
        commands = _commands(rate, voice.pitch, voice.volume)
        plain = _plain(text)
        in_fresh_child(lambda: self._speak_to_file(lib, commands + plain, voice.voice, path, len(commands)),
                       f"espeak-ng could not speak a segment of {len(text)} characters")

    def _speak_to_file(self, lib, text: str, voice: str, path: Path, commands: int = 0) -> None:
        if lib.SetVoiceByName(voice.encode("utf-8")) != 0:
            raise AudioficError(f"espeak-ng has no voice {voice!r}")
        _SAMPLES.clear()
        _WORDS.clear()
        lib.Synth(text.encode("utf-8"), flags=lib.ENDPAUSE | lib.CHARS_UTF8)
        write_wav(path, b"".join(_SAMPLES), _initialised()[1], after_punctuation(text[commands:], [
            (position - 1 - commands, sample) for position, sample in _WORDS]))


def _commands(rate: float, pitch: float, volume: float) -> str:
    """Rate, pitch and volume as espeak-ng embedded commands at the head of the text: set through
    pyttsx3 they were queued and now and then a segment came out at the previous one's rate."""
    return f"\x01{int(rate)}S\x01{int(pitch)}P\x01{round(volume * 100)}A "


_SAMPLES: list[bytes] = []
_WORDS: list[tuple[int, int]] = []  # espeak-ng's WORD events: (1-based character position, sample)


def _collect(wav, numsamples, events) -> int:
    if numsamples > 0:
        _SAMPLES.append(ctypes.string_at(wav, numsamples * 2))
    lib, i = _initialised()[0], 0
    while events[i].type != lib.EVENT_LIST_TERMINATED:
        if events[i].type == lib.EVENT_WORD and events[i].length > 0:
            _WORDS.append((events[i].text_position, events[i].sample))
        i += 1
    return 0


def after_punctuation(text: str, words: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The words that begin a sentence or a clause (the first, and any after a mark): where a
    caption can start; the rest would only fill the cache."""
    kept = []
    for char, sample in words:
        before = char - 1
        while before >= 0 and text[before].isspace():
            before -= 1
        if 0 <= char < len(text) and (before < 0 or not text[before].isalnum()):
            kept.append((char, sample))
    return kept


@cache
def _initialised():
    """espeak-ng, started once per process (it cannot be started twice): (binding, sample rate)."""
    if not espeak_available():
        raise AudioficError(ESPEAK_HINT)
    # espeak-ng's audio layer would connect to PulseAudio, and leave client state in
    # ~/.config/pulse, though nothing is ever played: tell it there is no server.
    os.environ["PULSE_SERVER"] = "none"
    try:
        from pyttsx3.drivers import _espeak
    except (OSError, ImportError) as exc:
        raise AudioficError(f"{ESPEAK_HINT} ({exc})") from None
    rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 1000)
    if rate <= 0:
        raise AudioficError(f"{ESPEAK_HINT} (it would not start)")
    _espeak.SetSynthCallback(_collect)
    return _espeak, rate


def _plain(text: str) -> str:
    """No control characters from the story: \x01 would start an espeak-ng command."""
    return "".join(" " if ord(c) < 32 else c for c in text)


@cache
def _version() -> str:
    return (f"pyttsx3 {package_version('pyttsx3')}; {espeak_version()}; one fresh synthesizer per segment; "
            "rate in measured words per minute, 1.4 syllables a word, at two settings")


@cache
def _voice_list(engine: Pyttsx3Engine) -> tuple[VoiceInfo, ...]:
    voices = []
    for v in engine._espeak().ListVoices(None):
        short = v.identifier.decode("utf-8").lower().split("/")[-1]
        languages = (v.languages[1:].decode("utf-8", "ignore"),) if v.languages else ()
        gender = {1: "Male", 2: "Female"}.get(v.gender)
        voices.append(VoiceInfo(short, v.name.decode("utf-8"), languages, gender))
    return tuple(voices)


@cache
def espeak_available() -> bool:
    return bool(ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak"))


def _quiet_env() -> dict:
    return dict(os.environ, PULSE_SERVER="none")


@cache
def espeak_version() -> str:
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=10,
                             env=_quiet_env()).stdout
    except (OSError, subprocess.SubprocessError):
        return "espeak-ng"
    return out.split(" Data at")[0].strip() or "espeak-ng"


@cache
def espeak_variants() -> tuple[str, ...]:
    """Variant names usable after '+', from espeak-ng's data folder."""
    try:
        out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, timeout=10,
                             env=_quiet_env()).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    names = []
    for line in out.splitlines()[1:]:
        names += [part[3:] for part in line.split() if part.startswith("!v/")]
    return tuple(sorted(set(names), key=str.lower))


ENGINE = Pyttsx3Engine
