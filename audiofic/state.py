"""A work's state on disk: its folder, the manifest of what went into each rendered file,
the segment cache's usage, and what an interrupted render left behind.

output/<work>/.audiofic/manifest.json records, per chapter, the hash of everything that
changes its audio, its tags, files and length, so a re-render skips what is current.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import AudioficError
from .files import atomic_write
from .model import Work
from .tag import slugify

MANIFEST_VERSION = 2
STATE_DIR = ".audiofic"


def work_dir(output: Path, work: Work) -> Path:
    return Path(output) / slugify(work.title)


def cache_dir_for(out_dir: Path, cache: Path | None) -> Path:
    """The segment cache: --cache when given, else the work's own."""
    return Path(cache) if cache else out_dir / STATE_DIR / "cache"


class Manifest:
    """What went into each rendered chapter: output/<work>/.audiofic/manifest.json."""

    def __init__(self, path: Path):
        self.path = path
        self.chapters: dict[str, dict] = {}
        self.first: str | None = None
        self._lock = threading.Lock()
        if path.exists():
            try:
                data = json.loads(path.read_text("utf-8"))
                if data.get("version") == MANIFEST_VERSION:
                    self.chapters = data.get("chapters", {})
                    self.first = data.get("first_render")
            except (OSError, ValueError):
                self.chapters = {}

    @classmethod
    def of(cls, out_dir: Path) -> "Manifest":
        return cls(out_dir / STATE_DIR / "manifest.json")

    def get(self, number: int | str) -> dict | None:
        return self.chapters.get(str(number))

    def set(self, number: int | str, entry: dict) -> None:
        with self._lock:
            self.chapters[str(number)] = entry
            self._write()

    def _write(self) -> None:
        atomic_write(self.path, json.dumps({"version": MANIFEST_VERSION, "chapters": self.chapters,
                                            "first_render": self.first}, indent=1))

    def first_render(self) -> str:
        """When this work was first rendered: the base of the feed's increasing pubDates."""
        if not self.first:
            self.first = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            with self._lock:
                self._write()
        return self.first

    def keys_in_use(self) -> set[str]:
        return {k for entry in self.chapters.values() for k in entry.get("segments", [])}


def ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".audiofic-write-test-"):
            pass
    except OSError as exc:
        raise AudioficError(f"cannot write to {folder}: {exc.strerror or exc}") from None


def remove_stale_partials(out_dir: Path) -> None:
    """Temporary files a killed render left: never under a final name, so safe to drop."""
    for stale in out_dir.glob(".*.partial"):
        with contextlib.suppress(OSError):
            stale.unlink()


@dataclass
class CacheStats:
    entries: int = 0
    bytes: int = 0
    removed: int = 0
    freed: int = 0


def cache_usage(output: Path, cache_dir: Path | None = None, prune: bool = False) -> CacheStats:
    """Size of the segment cache(s); with prune, drop entries that no rendered chapter uses.

    Without --cache, each work under `output` has its own cache, judged by its own manifest;
    a shared --cache is judged by the manifests of every work under `output`.
    """
    output = Path(output)
    works = [p.parent.parent for p in output.glob(f"*/{STATE_DIR}/manifest.json")]
    if cache_dir is not None:
        pairs = [(Path(cache_dir), set().union(*(Manifest.of(w).keys_in_use() for w in works)))]
    else:
        pairs = [(cache_dir_for(w, None), Manifest.of(w).keys_in_use()) for w in works]
    stats = CacheStats()
    for folder, in_use in pairs:
        try:  # the voices' calibration passages (levels.py) stay too
            in_use = in_use | set(json.loads((folder / "levels.json").read_text("utf-8")))
        except (OSError, ValueError):
            pass
        for entry in folder.glob("??/*.wav"):
            size = entry.stat().st_size
            stats.entries += 1
            stats.bytes += size
            if prune and entry.stem not in in_use:
                entry.unlink()
                stats.removed += 1
                stats.freed += size
        for stale in folder.glob("??/.*.tmp.wav"):
            if prune:
                stale.unlink()
    return stats
