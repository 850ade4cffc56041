"""The errors a user sees, and the one way any failure becomes the line they read."""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool


class AudioficError(Exception):
    """A problem the user can fix; shown as one line, never as a traceback."""


WORKER_DIED = "a synthesis worker died (killed, or out of memory); run the same command again to resume"


def one_line(exc: BaseException, with_type: bool = False) -> str:
    """`exc` as one line: an OSError as "file: reason" (a full disk, a missing file), a dead
    worker pool as what to do about it, anything else as the first line of its message.
    `with_type` names the kind of an unexpected error (not ours, not the system's)."""
    if isinstance(exc, BrokenProcessPool):
        return WORKER_DIED
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    if with_type and not isinstance(exc, (AudioficError, OSError)):
        return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return first or type(exc).__name__
