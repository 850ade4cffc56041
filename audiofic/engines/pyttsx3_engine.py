"""pyttsx3 with espeak-ng underneath, driven around its Linux traps (see GUIDE.md):
one engine per process, one file per runAndWait, and wait for the 'finished-utterance'
event, because runAndWait can return before the WAV is written."""

from __future__ import annotations

import contextlib
import ctypes.util
import difflib
import io
import subprocess
import threading
import time
from functools import cache
from importlib.metadata import version as package_version
from pathlib import Path

from ..errors import AudioficError
from . import Engine, Palette, VoiceInfo, _interleave

ESPEAK_HINT = "espeak-ng is not installed (Debian: apt-get install espeak-ng)"

# Accent and variant differ first; pitch varies once a palette has been used up.
FEMALE_VOICES = ("en+f2", "en-us+f4", "en-029+f1", "en-gb-scotland+f3", "en-gb-x-gbclan+f5",
                 "en-us+f2", "en-gb-x-rp+f4", "en-gb-x-gbcwmd+f1")
MALE_VOICES = ("en+m3", "en-us+m1", "en-gb-scotland+m2", "en-029+m4", "en-gb-x-gbclan+m7",
               "en-gb-x-rp+m5", "en-us+m6", "en-gb-x-gbcwmd+m3")
PITCH_STEPS = (0, -12, 12)
DIALOGUE_VARIANT = "+f3"  # the generic dialogue voice of a work in another language


def split_variant(voice: str) -> tuple[str, str | None]:
    """'gmw/en-us+f3' → ('en-us', 'f3'): the espeak voice id and its variant."""
    base, _, variant = voice.partition("+")
    return base.split("/")[-1], (variant or None)


class Pyttsx3Engine(Engine):
    name = "pyttsx3"
    ranges = {"rate": (80, 500), "pitch": (0, 99), "volume": (0.0, 1.0)}
    default_pitch = 50

    def __init__(self) -> None:
        self._engine = None
        self._done = threading.Event()

    def _driver(self):
        if self._engine is None:
            if not espeak_available():
                raise AudioficError(ESPEAK_HINT)
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    import pyttsx3

                    self._engine = pyttsx3.init("espeak")
            except (OSError, RuntimeError, ImportError) as exc:
                raise AudioficError(f"{ESPEAK_HINT} ({exc})") from None
            self._engine.connect("finished-utterance", lambda name, completed: self._done.set())
        return self._engine

    def version(self) -> str:
        return _version()

    def voices(self) -> list[VoiceInfo]:
        return list(_voice_list(self))

    def check_voice(self, voice: str) -> None:
        base, variant = split_variant(voice)
        ids = {v.id for v in self.voices()}
        if base not in ids:
            close = difflib.get_close_matches(base, sorted(ids), n=3)
            hint = f" Did you mean {', '.join(close)}?" if close else ""
            raise AudioficError(
                f"unknown voice {voice!r}.{hint} Available: {', '.join(sorted(ids))} (see `audiofic voices`)"
            )
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

    def synthesize(self, text: str, voice, path: Path) -> None:
        engine = self._driver()
        engine.setProperty("voice", voice.voice)
        # Rate, pitch and volume go in as espeak-ng embedded commands at the head of the text:
        # set through pyttsx3 they are queued asynchronously and a segment now and then comes out
        # at the previous segment's rate (tests/test_synthesize.py shows it).
        text = f"\x01{int(voice.rate)}S\x01{int(voice.pitch)}P\x01{round(voice.volume * 100)}A {_plain(text)}"
        self._done.clear()
        # pyttsx3 prints "Audio saved to …" from its callback thread: keep it out of our output.
        with contextlib.redirect_stdout(io.StringIO()):
            engine.save_to_file(text, str(path))
            engine.runAndWait()
            finished = self._done.wait(timeout=60 + len(text) / 20)
        if not finished:
            raise AudioficError(f"espeak-ng did not finish speaking a segment of {len(text)} characters")
        _wait_until_idle()


def _plain(text: str) -> str:
    """No control characters from the story: \x01 would start an espeak-ng command."""
    return "".join(" " if ord(c) < 32 else c for c in text)


@cache
def _version() -> str:
    return f"pyttsx3 {package_version('pyttsx3')}; {espeak_version()}"


def _wait_until_idle(limit: float = 5.0) -> None:
    """'finished-utterance' fires inside espeak's callback: let that thread finish too, or a
    parameter set now can be queued behind it and miss the next segment."""
    from pyttsx3.drivers import _espeak

    deadline = time.monotonic() + limit
    while _espeak.IsPlaying() and time.monotonic() < deadline:
        time.sleep(0.001)


@cache
def _voice_list(engine: Pyttsx3Engine) -> tuple[VoiceInfo, ...]:
    voices = []
    for v in engine._driver().getProperty("voices"):
        short = v.id.split("/")[-1]
        voices.append(VoiceInfo(short, v.name, tuple(v.languages or ()), (v.gender or None)))
    return tuple(voices)


def espeak_available() -> bool:
    return bool(ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak"))


@cache
def espeak_version() -> str:
    try:
        out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return "espeak-ng"
    return out.split(" Data at")[0].strip() or "espeak-ng"


@cache
def espeak_variants() -> tuple[str, ...]:
    """Variant names usable after '+', from espeak-ng's data folder."""
    try:
        out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    names = []
    for line in out.splitlines()[1:]:
        names += [part[3:] for part in line.split() if part.startswith("!v/")]
    return tuple(sorted(set(names), key=str.lower))


ENGINE = Pyttsx3Engine
