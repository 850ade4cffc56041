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
from ..config import split_variant
from . import VoiceInfo

ESPEAK_HINT = "espeak-ng is not installed (Debian: apt-get install espeak-ng)"


class Pyttsx3Engine:
    name = "pyttsx3"

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

    def voice_for_language(self, language: str) -> str | None:
        """The espeak-ng voice for an ISO code ("es", "pt-br"), or None."""
        ids = {v.id for v in self.voices()}
        for candidate in (language.lower(), language.lower().split("-")[0]):
            if candidate in ids:
                return candidate
        return None

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
