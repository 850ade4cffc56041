"""Writing files so that nothing half-written ever sits under a final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def partial_name(final: Path) -> Path:
    """The hidden temporary name a file is written under before it is renamed into place."""
    return final.with_name(f".{final.name}.partial")


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_if_changed(path: Path, data: bytes) -> None:
    """Leave a file alone (bytes and mtime) when it already holds `data`."""
    if not path.exists() or path.read_bytes() != data:
        atomic_write(path, data)
