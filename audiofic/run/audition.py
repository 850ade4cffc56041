"""Hear before you choose: a short sample of any voice, and an audition of a work's cast, each
member reading one of their own lines, in seconds rather than a long render."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..engines import get_engine
from ..files import fresh, partial_name
from ..model import DIALOGUE, Voice
from ..publish.tag import safe_filename
from .plan import PlannedSegment, Prepared

SAMPLE_TEXT = ("The lamp was lit at last. \"Are you coming up?\" she called down the stairs, and the wind "
               "answered for him.")


def speak_to(path: Path, speech: str, voice: Voice) -> Path:
    """`speech` in `voice` to the WAV `path`, written under a temporary name and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = fresh(partial_name(path))
    try:
        get_engine(voice.engine).synthesize(speech, voice, tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return path


def sample(voice: Voice, path: Path) -> Path:
    get_engine(voice.engine).check_voice(voice.voice)
    return speak_to(path, SAMPLE_TEXT, voice)


def their_line(segments: list[PlannedSegment]) -> PlannedSegment | None:
    """The line that shows a voice best: the first of a good length (six to thirty words), else
    their longest."""
    if not segments:
        return None
    fitting = [p for p in segments if 6 <= len(p.segment.text.split()) <= 30]
    return fitting[0] if fitting else max(segments, key=lambda p: len(p.segment.text))


def audition(ready: Prepared, folder: Path) -> list[Path]:
    """One WAV per cast member, numbered in cast order (most lines first), each reading one of
    their own lines: `folder/01 - Mara.wav`, …"""
    lines: dict[str, list[PlannedSegment]] = {}
    for cp in ready.plan.chapters:
        for p in cp.segments:
            if p.segment.kind == DIALOGUE and p.reader in ready.casting.entries:
                lines.setdefault(p.reader, []).append(p)
    written = []
    order = sorted(ready.casting.entries.values(), key=lambda e: (-e.lines, e.character.name))
    for number, entry in enumerate(order, 1):
        line = their_line(lines.get(entry.character.name, []))
        if line is None:
            continue
        name = safe_filename(f"{number:02d} - {entry.character.name}") + ".wav"
        written.append(speak_to(folder / name, line.speech, line.voice))
    return written
