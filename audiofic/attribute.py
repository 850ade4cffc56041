"""Attribute: who speaks each dialogue segment. Pure text work, no engines."""

from __future__ import annotations

from .model import Work


def attribute(work: Work, cast: dict | None = None) -> Work:
    """Mark each dialogue segment's speaker; None means unknown (the [dialogue] voice)."""
    return work
