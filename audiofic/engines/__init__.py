"""Speech engines behind one small interface; a new engine is one new module.

An engine turns text and a Voice into a WAV file (mono, 16-bit). Everything else
(caching, checking, joining) is the pipeline's job, not the engine's.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config import Voice
from ..errors import AudioficError


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    name: str
    languages: tuple[str, ...]
    gender: str | None


class Engine(Protocol):
    name: str

    def version(self) -> str:
        """Changes whenever the same text and voice could sound different."""

    def voices(self) -> list[VoiceInfo]:
        """The voices this engine offers."""

    def voice_for_language(self, language: str) -> str | None:
        """This engine's voice for a language code, or None."""

    def check_voice(self, voice: str) -> None:
        """Raise AudioficError naming the available voices if `voice` is unknown."""

    def synthesize(self, text: str, voice: Voice, path: Path) -> None:
        """Write `text` spoken in `voice` to the WAV file `path`, completely, before returning."""


ENGINES = {"pyttsx3": "audiofic.engines.pyttsx3_engine:Pyttsx3Engine"}

_instances: dict[str, Engine] = {}


def get_engine(name: str) -> Engine:
    """One engine instance per process (pyttsx3 allows no more)."""
    if name not in _instances:
        target = ENGINES.get(name)
        if target is None:
            raise AudioficError(f"unknown engine {name!r} (known: {', '.join(ENGINES)})")
        module, cls = target.split(":")
        _instances[name] = getattr(importlib.import_module(module), cls)()
    return _instances[name]
