"""Tag: what players read. ID3 v2.3 for MP3, since Windows and older players ignore v2.4."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from mutagen.id3 import COMM, ID3, TALB, TCON, TIT2, TPE1, TPE2, TRCK, TXXX

GENRE = "Audiobook"


@dataclass
class Tags:
    title: str  # the chapter title
    album: str  # the work title
    author: str
    track: int
    total: int
    summary: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # TXXX frames: fandom, rating, …

    def as_dict(self) -> dict:
        return {
            "title": self.title, "album": self.album, "author": self.author, "track": self.track,
            "total": self.total, "summary": self.summary, "extra": dict(sorted(self.extra.items())),
        }


def write_mp3_tags(path: Path, tags: Tags) -> None:
    """Replace the file's tag with exactly these frames (also used to retag in place)."""
    id3 = ID3()
    id3.add(TIT2(encoding=1, text=tags.title))
    id3.add(TALB(encoding=1, text=tags.album))
    if tags.author:
        id3.add(TPE1(encoding=1, text=tags.author))
        id3.add(TPE2(encoding=1, text=tags.author))
    id3.add(TRCK(encoding=1, text=f"{tags.track}/{tags.total}"))
    id3.add(TCON(encoding=1, text=GENRE))
    if tags.summary:
        id3.add(COMM(encoding=1, lang="eng", desc="", text=tags.summary))
    for name, value in sorted(tags.extra.items()):
        id3.add(TXXX(encoding=1, desc=name, text=value))
    id3.update_to_v23()
    id3.save(str(path), v2_version=3)


_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}


def safe_filename(name: str, limit: int = 100) -> str:
    """A name that is legal on Windows, macOS and Linux and still reads like the title."""
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"\s*:\s+", " - ", name)
    name = re.sub(r'[<>:"/\\|?*\x00-\x1f\x7f]', " ", name)
    name = re.sub(r"\s+", " ", name).strip().rstrip(". ")
    name = name[:limit].rstrip(". ")
    if not name or name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    return name


def slugify(title: str) -> str:
    """An ASCII folder name for a work: "In Bits and Pieces" → "in-bits-and-pieces"."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")
    return slug or "work"


def chapter_filename(number: int, total: int, title: str, ext: str = "mp3") -> str:
    width = max(2, len(str(total)))
    return f"{number:0{width}d} - {safe_filename(title)}.{ext}"
