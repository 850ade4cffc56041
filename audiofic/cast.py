"""Cast: a voice for every segment, from its kind and its speaker."""

from __future__ import annotations

from .config import Voice, role_voice
from .model import DIALOGUE, Segment


def voice_for(segment: Segment, config: dict) -> tuple[str, Voice]:
    """(who reads it, which voice): the narrator, a character, or the generic dialogue voice."""
    if segment.kind == DIALOGUE:
        return "dialogue", role_voice(config, "dialogue")
    return "narrator", role_voice(config, "narrator")
