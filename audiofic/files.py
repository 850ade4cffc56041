"""Writing files so that nothing half-written ever sits under a final name, and nothing is
written through a link planted inside the output folder."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import tempfile
from pathlib import Path

from .errors import AudioficError


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()  # what open() gives a new file: the audio's mode, 0644 usually


def writer_id() -> str:
    """This host and process: unique among the writers of a folder that several machines share."""
    return f"{re.sub(r'[^A-Za-z0-9-]', '', socket.gethostname())[:40]}-{os.getpid()}"


def partial_name(final: Path) -> Path:
    """The hidden temporary name a file is written under before it is renamed into place;
    unique to this process on this host, so two writers never share one."""
    return final.with_name(f".{final.name}.{writer_id()}.partial")


def fresh(path: Path) -> Path:
    """Clear a temporary name before a tool writes it, so nothing there (a link) is followed."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return path


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)  # mkstemp makes 0600; a feed copied to a web server must be readable
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_if_changed(path: Path, data: bytes) -> None:
    """Leave a file alone (bytes and mtime) when it already holds `data`."""
    if path.is_symlink() or not path.exists() or path.read_bytes() != data:
        atomic_write(path, data)


def refuse_links(root: Path, *paths: Path) -> None:
    """No folder we write into below `root` may be a symbolic link: writing through one would
    put files outside the output folder."""
    root = Path(root)
    for path in paths:
        path = Path(path)
        try:
            parts = path.relative_to(root).parts
        except ValueError:
            continue  # a folder the user named outside the output folder (--cache) is theirs
        current = root
        for part in parts:
            current = current / part
            if current.is_symlink():
                raise AudioficError(f"{current} is a symbolic link; audiofic does not write through links "
                                    "inside its output folder (remove the link)")
