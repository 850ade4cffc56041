"""A work's state on disk: its folder, the manifest of what went into each rendered file,
the segment cache's usage, and what an interrupted render left behind.

output/<work>/.audiofic/manifest.json records, per chapter, the hash of everything that
changes its audio, its tags, files and length, so a re-render skips what is current.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from ..errors import AudioficError
from ..files import atomic_write, refuse_links
from ..model import Work
from ..publish.library import STATE_DIR, book_folder, recorded_layout, work_folders
from ..publish.tag import slugify
from ..sound.synthesize import cache_path

MANIFEST_VERSION = 2


def work_dir(output: Path, work: Work, layout: str | None = None) -> Path:
    """OUTPUT/<slug>, or OUTPUT/Author/[Series/]Title in an Audiobookshelf library (the layout
    the folder records when none is given)."""
    if (layout or recorded_layout(output)) == "audiobookshelf":
        return Path(output) / book_folder(work)
    return Path(output) / slugify(work.title)


def previous_folder(output: Path, work: Work, out_dir: Path) -> Path | None:
    """Where this work was rendered before, when its folder has since moved (a new series or
    title in an Audiobookshelf library): the folder whose manifest names the same work."""
    if out_dir.is_dir() or recorded_layout(output) != "audiobookshelf":
        return None
    identity = work_identity(work)
    for folder in work_folders(output):
        try:
            if json.loads((folder / STATE_DIR / "manifest.json").read_text("utf-8")).get("work") == identity:
                return folder
        except (OSError, ValueError, AttributeError):
            continue
    return None


def move_work(old: Path, new: Path, output: Path) -> None:
    """The whole work folder to its new place (one rename: never two copies), and the
    Author and Series folders it leaves empty removed."""
    refuse_links(output, new.parent)
    with WorkLock(old):
        new.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(old, new)
        except OSError as exc:
            raise AudioficError(f"cannot move {old} to {new}: {exc.strerror or exc}") from None
    parent = old.parent
    while parent != Path(output) and Path(output) in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def work_identity(work: Work) -> dict:
    """Which work a folder holds: its AO3 address where it has one, else title and author."""
    return {"url": work.url} if work.url else {"title": work.title, "author": work.author}


def describe(identity: dict) -> str:
    if "url" in identity:
        return identity["url"]
    return f"{identity.get('title')!r} by {identity.get('author') or 'an unknown author'}"


class WorkLock:
    """One render at a time per work folder; a second one is told who holds it."""

    def __init__(self, out_dir: Path):
        self.state = out_dir / STATE_DIR
        self.lock = FileLock(str(self.state / "lock"), timeout=0)

    def __enter__(self):
        self.state.mkdir(parents=True, exist_ok=True)
        try:
            self.lock.acquire()
        except Timeout:
            raise AudioficError(f"{self.state.parent} is being rendered by {self._holder()}; "
                                "wait for it to finish, then run this again") from None
        atomic_write(self.owner, json.dumps(
            {"pid": os.getpid(), "host": socket.gethostname(), "since": time.strftime("%Y-%m-%d %H:%M:%S")}))
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(OSError):
            self.owner.unlink()  # never left to name a render that has finished
        self.lock.release()

    @property
    def owner(self) -> Path:
        return self.state / "lock.owner"

    def _holder(self) -> str:
        """Who holds the lock: the holder writes it just after taking the lock, so wait a moment."""
        for _ in range(40):
            try:
                holder = json.loads(self.owner.read_text("utf-8"))
                return f"process {holder['pid']} on {holder['host']}, since {holder['since']}"
            except (OSError, ValueError, KeyError, TypeError):
                time.sleep(0.05)
        return "another process"


def prepare_folders(output: Path, out_dir: Path, cache: Path) -> None:
    """Writable folders for the work and its cache, with no link under the output folder
    (checked before anything is created, so nothing is made through one)."""
    refuse_links(output, out_dir, out_dir / STATE_DIR, cache)
    ensure_writable(out_dir)
    ensure_writable(cache)


def cache_dir_for(out_dir: Path, cache: Path | None) -> Path:
    """The segment cache: --cache when given, else the work's own."""
    return Path(cache) if cache else out_dir / STATE_DIR / "cache"


def shelf_cache_dir(output: Path) -> Path:
    """A shelf's one cache, beside its works' folders."""
    return Path(output) / STATE_DIR / "cache"


@dataclass
class ChapterRecord:
    """A chapter's manifest entry: what went into its files (the segments, pauses, gains and
    encoder chains behind `audio`, its tags, chapter marks and length). Read and written here
    only; the JSON keys are the field names, as manifests have always had them."""

    files: dict[str, str]  # format → file name
    title: str
    audio: str  # ChapterPlan.audio_hash
    tags: dict
    segments: list[str]  # cache keys
    pauses: list[int]
    gains: list[float]
    chains: dict[str, str]
    marks: list[list]
    seconds: float
    starts: list[int] = dataclasses.field(default_factory=list)  # sample where each segment starts, then the tail, the end
    captions: dict[str, str] = dataclasses.field(default_factory=dict)  # kind → file name, and their "hash"

    @classmethod
    def parse(cls, entry) -> "ChapterRecord | None":
        """An entry as read from JSON, or None when it has not the shape the code relies on."""
        if not isinstance(entry, dict) or not isinstance(entry.get("audio"), str) or not _is_str_map(entry.get("files")):
            return None
        segments, marks = entry.get("segments", []), entry.get("marks", [])
        if not (_number(entry.get("seconds", 0)) and isinstance(entry.get("tags", {}), dict)
                and isinstance(segments, list) and all(isinstance(k, str) for k in segments)
                and isinstance(marks, list) and all(isinstance(m, list) and len(m) == 4 for m in marks)):
            return None
        starts, captions = entry.get("starts", []), entry.get("captions", {})
        if not (isinstance(starts, list) and all(isinstance(n, int) for n in starts)) or not _is_str_map(captions):
            starts, captions = [], {}  # read-along files are made again; the audio is still good
        return cls(entry["files"], str(entry.get("title", "")), entry["audio"], entry.get("tags", {}), segments,
                   entry.get("pauses", []), entry.get("gains", []), entry.get("chains", {}), marks,
                   entry.get("seconds", 0.0), starts, captions)


@dataclass
class M4bRecord:
    """The M4B's manifest entry (key "m4b")."""

    file: str
    audio: str
    tags: dict
    seconds: float

    @classmethod
    def parse(cls, entry) -> "M4bRecord | None":
        if not (isinstance(entry, dict) and isinstance(entry.get("audio"), str) and isinstance(entry.get("file"), str)
                and _number(entry.get("seconds", 0)) and isinstance(entry.get("tags", {}), dict)):
            return None
        return cls(entry["file"], entry["audio"], entry.get("tags", {}), entry.get("seconds", 0.0))


def _is_str_map(value) -> bool:
    return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse(key: str, entry) -> ChapterRecord | M4bRecord | None:
    return (M4bRecord if key == "m4b" else ChapterRecord).parse(entry)


class Manifest:
    """What went into each rendered chapter: output/<work>/.audiofic/manifest.json.

    A damaged or foreign-shaped manifest is never trusted: what cannot be read is dropped
    with one warning, and those chapters are rendered again."""

    def __init__(self, path: Path):
        self.path = path
        self.chapters: dict[str, ChapterRecord | M4bRecord] = {}
        self.first: str | None = None
        self.work: dict | None = None
        self._lock = threading.Lock()
        if not path.exists():
            return
        try:
            data = json.loads(path.read_text("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("chapters", {}), dict):
                raise ValueError("not a manifest")
        except (OSError, ValueError) as exc:
            warnings.warn(f"{path} could not be read ({exc}); its chapters will be rendered again")
            return
        if data.get("version") != MANIFEST_VERSION:
            return
        chapters = data.get("chapters", {})
        self.chapters = {k: record for k, v in chapters.items() if (record := _parse(k, v))}
        if len(self.chapters) != len(chapters):
            warnings.warn(f"{path} was damaged; {len(chapters) - len(self.chapters)} of its entries "
                          "will be rendered again")
        self.first = data.get("first_render") if isinstance(data.get("first_render"), str) else None
        self.work = data.get("work") if isinstance(data.get("work"), dict) else None

    @classmethod
    def of(cls, out_dir: Path) -> "Manifest":
        return cls(out_dir / STATE_DIR / "manifest.json")

    def claim(self, identity: dict) -> None:
        """Refuse a folder that holds another work; else record which work it holds."""
        if self.work and self.work != identity:
            raise AudioficError(f"{self.path.parent.parent} holds {describe(self.work)}, not {describe(identity)}; "
                                "render this one into another folder with -o")
        if self.work != identity:
            self.work = identity
            with self._lock:
                self._write()

    def get(self, number: int | str) -> ChapterRecord | M4bRecord | None:
        return self.chapters.get(str(number))

    def set(self, number: int | str, record: ChapterRecord | M4bRecord) -> None:
        with self._lock:
            self.chapters[str(number)] = record
            self._write()

    def _write(self) -> None:
        chapters = {key: dataclasses.asdict(record) for key, record in self.chapters.items()}
        atomic_write(self.path, json.dumps({"version": MANIFEST_VERSION, "work": self.work,
                                            "chapters": chapters, "first_render": self.first}, indent=1))

    def first_render(self) -> str:
        """When this work was first rendered: the base of the feed's increasing pubDates."""
        if not self.first:
            self.first = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            with self._lock:
                self._write()
        return self.first

    def keys_in_use(self) -> set[str]:
        return {k for record in self.chapters.values() if isinstance(record, ChapterRecord) for k in record.segments}


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
    works: list[tuple[Path, int, int]] = dataclasses.field(default_factory=list)  # folder, entries, bytes


def cache_usage(output: Path, cache_dir: Path | None = None, prune: bool = False) -> CacheStats:
    """Size of the segment cache(s), in all and per work (the entries its chapters use; one
    shared by works counts for each); with prune, drop entries that no rendered chapter uses.

    Without --cache, each work under `output` has its own cache, judged by its own manifest,
    and a shelf's cache (`output/.audiofic/cache`) by every work's; a shared --cache is judged
    by the manifests of every work under `output`.
    """
    output = Path(output)
    works = {folder: Manifest.of(folder).keys_in_use() for folder in work_folders(output)}
    everything = set().union(*works.values())
    if cache_dir is not None:
        pairs = [(Path(cache_dir), everything)]
    else:
        pairs = [(cache_dir_for(w, None), keys) for w, keys in works.items()]
        if shelf_cache_dir(output).is_dir():  # a shelf's one cache, shared by its works
            pairs.append((shelf_cache_dir(output), everything))
    stats = CacheStats()
    sizes = {folder: _entry_sizes(folder) for folder, _ in pairs}
    for work, keys in works.items():
        own = cache_dir_for(work, cache_dir)
        held = sizes.get(own) or sizes.get(shelf_cache_dir(output), {})
        used = [held[k] for k in keys if k in held]
        stats.works.append((work, len(used), sum(used)))
    for folder, in_use in pairs:
        try:  # the voices' calibration passages (levels.py) stay too
            levels = json.loads((folder / "levels.json").read_text("utf-8"))
            in_use = in_use | (set(levels) if isinstance(levels, dict) else set())
        except (OSError, ValueError):
            pass
        for key, size in sizes[folder].items():
            stats.entries += 1
            stats.bytes += size
            if prune and key not in in_use:
                cache_path(folder, key).unlink()
                stats.removed += 1
                stats.freed += size
        for stale in (e for pattern in ("??/.*.tmp.wav", "??/.*.tmp.flac", "??/.*.spare.wav") for e in folder.glob(pattern)):
            if prune:
                stale.unlink()
    return stats


def _entry_sizes(folder: Path) -> dict[str, int]:
    """Each cached entry's key and size in bytes (an older audiofic's WAV where it has no FLAC)."""
    sizes = {}
    for pattern in ("??/*.wav", "??/*.flac"):
        sizes.update((entry.stem, entry.stat().st_size) for entry in folder.glob(pattern)
                     if not entry.name.startswith("."))
    return sizes


LAST_RENDER = "last-render.json"
UNRECORDED = ("chapters", "force", "jobs", "recast")  # what one run asks, not what the work is made with


def record_options(out_dir: Path, source: Path, options) -> None:
    """The source and the options a render was made with, so the studio re-renders a chapter as
    the last render made it (paths absolute: the studio may run from another folder)."""
    fields = {k: (str(Path(v).resolve()) if isinstance(v, Path) else v)
              for k, v in dataclasses.asdict(options).items() if k not in UNRECORDED}
    data = json.dumps({"source": str(Path(source).resolve()), "options": fields}, indent=1)  # a file name need not be UTF-8
    atomic_write(out_dir / STATE_DIR / LAST_RENDER, data)


def recorded_options(out_dir: Path) -> tuple[Path, dict] | None:
    """(source, options as recorded) of the work's last render, or None."""
    try:
        data = json.loads((out_dir / STATE_DIR / LAST_RENDER).read_text("utf-8"))
        return Path(data["source"]), dict(data["options"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
