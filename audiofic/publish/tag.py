"""Tag: what players read. ID3 v2.3 for MP3, since Windows and older players ignore v2.4."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import base64

from mutagen.flac import Picture
from mutagen.id3 import APIC, CHAP, COMM, CTOC, ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TRCK, TXXX, CTOCFlags
from mutagen.mp4 import MP4, MP4Cover
from mutagen.oggopus import OggOpus

GENRE = "Audiobook"


@dataclass
class Cover:
    data: bytes
    mime: str  # image/jpeg or image/png
    width: int = 0
    height: int = 0


Mark = tuple[str, str, int, int]  # element id, title, start ms, end ms


@dataclass
class Tags:
    title: str  # the chapter title
    album: str  # the work title
    author: str
    track: int
    total: int
    summary: str | None = None
    extra: dict[str, str] = field(default_factory=dict)  # TXXX frames: fandom, rating, …
    year: str | None = None
    cover_id: str | None = None  # a hash of the cover, so a new cover retags

    def as_dict(self) -> dict:
        return {
            "title": self.title, "album": self.album, "author": self.author, "track": self.track,
            "total": self.total, "summary": self.summary, "extra": dict(sorted(self.extra.items())),
            "year": self.year, "cover": self.cover_id,
        }


def write_mp3_tags(path: Path, tags: Tags, cover: Cover | None = None, marks: list[Mark] | None = None) -> None:
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
    if tags.year:
        id3.add(TDRC(encoding=1, text=tags.year))  # update_to_v23 turns it into TYER
    if cover:
        id3.add(APIC(encoding=0, mime=cover.mime, type=3, desc="Cover", data=cover.data))
    if marks:
        ids = [m[0] for m in marks]
        id3.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED, child_element_ids=ids,
                     sub_frames=[TIT2(encoding=1, text=tags.title)]))
        for element_id, title, start, end in marks:
            id3.add(CHAP(element_id=element_id, start_time=start, end_time=end,
                         sub_frames=[TIT2(encoding=1, text=title)]))
    id3.update_to_v23()
    id3.save(str(path), v2_version=3)


def _flac_picture(cover: Cover) -> str:
    picture = Picture()
    picture.type, picture.mime, picture.desc, picture.data = 3, cover.mime, "Cover", cover.data
    picture.width, picture.height, picture.depth = cover.width, cover.height, 24
    return base64.b64encode(picture.write()).decode("ascii")


def write_opus_tags(path: Path, tags: Tags, cover: Cover | None = None, marks: list[Mark] | None = None) -> None:
    audio = OggOpus(str(path))
    audio.delete()
    comments = {
        "TITLE": tags.title, "ALBUM": tags.album, "ARTIST": tags.author, "ALBUMARTIST": tags.author,
        "TRACKNUMBER": str(tags.track), "TRACKTOTAL": str(tags.total), "GENRE": GENRE,
    }
    if tags.summary:
        comments["DESCRIPTION"] = comments["COMMENT"] = tags.summary
    if tags.year:
        comments["DATE"] = tags.year
    comments.update({k.upper(): v for k, v in tags.extra.items()})
    for key, value in comments.items():
        audio[key] = [value]
    if cover:
        audio["METADATA_BLOCK_PICTURE"] = [_flac_picture(cover)]
    for i, (_id, title, start, _end) in enumerate(marks or []):
        audio[f"CHAPTER{i:03d}"] = [_timestamp(start)]
        audio[f"CHAPTER{i:03d}NAME"] = [title]
    audio.save()


def _timestamp(ms: int) -> str:
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def write_m4b_tags(path: Path, tags: Tags, cover: Cover | None = None, marks: list[Mark] | None = None) -> None:
    """The whole work in one file: its chapters were written by ffmpeg (QuickTime and Nero)."""
    audio = MP4(str(path))
    audio["\xa9nam"] = [tags.album]
    audio["\xa9alb"] = [tags.album]
    audio["\xa9ART"] = [tags.author]
    audio["aART"] = [tags.author]
    audio["\xa9gen"] = [GENRE]
    audio["trkn"] = [(1, 1)]
    audio["stik"] = [2]  # audiobook
    if tags.summary:
        audio["\xa9cmt"] = [tags.summary]
        audio["desc"] = [tags.summary[:250]]
    if tags.year:
        audio["\xa9day"] = [tags.year]
    for name, value in tags.extra.items():
        audio[f"----:com.apple.iTunes:{name}"] = [value.encode("utf-8")]
    if cover:
        kind = MP4Cover.FORMAT_PNG if cover.mime == "image/png" else MP4Cover.FORMAT_JPEG
        audio["covr"] = [MP4Cover(cover.data, imageformat=kind)]
    audio.save()


_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
NAME_BYTES = 180  # a file name's title part: room for "NN - ", ".opus" and a temporary prefix in 255 bytes
SLUG_BYTES = 120


def clip_bytes(text: str, limit: int) -> str:
    """At most `limit` bytes of UTF-8, never cutting a character in half."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def safe_filename(name: str, limit: int = 100) -> str:
    """A name that is legal on Windows, macOS and Linux and still reads like the title."""
    name = unicodedata.normalize("NFC", name)
    name = re.sub(r"\s*:\s+", " - ", name)
    name = re.sub(r'[<>:"/\\|?*\x00-\x1f\x7f]', " ", name)
    name = re.sub(r"\s+", " ", name).strip().rstrip(". ")
    name = clip_bytes(name[:limit], NAME_BYTES).rstrip(". ")
    if not name or name.split(".")[0].upper() in _RESERVED:
        name = f"_{name}"
    return name


def slugify(title: str) -> str:
    """A folder name for a work that keeps its letters in any script: "In Bits and Pieces" →
    "in-bits-and-pieces", "Café" → "cafe", a Chinese title stays Chinese. Safe on Windows,
    macOS and Linux: no reserved name, no punctuation, at most SLUG_BYTES bytes."""
    decomposed = unicodedata.normalize("NFKD", title)
    bare = unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))
    slug = re.sub(r"[\W_]+", "-", bare.lower()).strip("-")
    slug = clip_bytes(slug, SLUG_BYTES).strip("-") or "work"
    if slug.upper() in _RESERVED:
        slug += "-work"
    return slug


def chapter_filename(number: int, total: int, title: str, ext: str = "mp3") -> str:
    width = max(2, len(str(total)))
    return f"{number:0{width}d} - {safe_filename(title)}.{ext}"
