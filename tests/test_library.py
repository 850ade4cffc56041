"""An Audiobookshelf library as its scanner reads it (v2.36 rules, ../shared/GUIDE.md): book
folders Author/[Series/]Title, sidecar files, the OPF through an XML parser, chapters from the
audio files' own tags. Audiobookshelf itself is on neither Debian nor npm: this reads the folder
the way its scanner does."""

import re
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from PIL import Image

from audiofic.publish.serve import feeds
from conftest import run_cli

AUDIO = {".mp3", ".m4b", ".opus", ".m4a", ".flac", ".ogg", ".wav"}
OPF_NS = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}

WORK = """Title: {title}
Author: {author}
Series: {series}
Summary: {summary}
Fandom: Harbour Tales (Original Work)
Tags: Found Family, Storms

Chapter 1: {first}

Mara came down to the harbour at dawn. She was mending a sail when Tobias arrived. He was late again.

"You're late," said Mara.

"The tide was wrong," said Tobias.

Chapter 2: The Pier

"It always is," said Mara.

"Always," said Tobias. He grinned at her.
"""


def write_work(folder: Path, name: str, title: str, series: str, author: str = "Wren",
               first: str = "Dawn") -> Path:
    path = folder / f"{name}.txt"
    summary = f"A short tale called {title}, told at the harbour."
    path.write_text(WORK.format(title=title, author=author, series=series, summary=summary, first=first), "utf-8")
    return path


def scan(root: Path) -> dict[str, dict]:
    """Book folders and their metadata, lowest source first as the scanner's default precedence
    has it: folder names, audio tags, desc.txt and reader.txt, then the OPF."""
    books = {}
    for folder in sorted(p for p in root.rglob("*") if p.is_dir()):
        parts = folder.relative_to(root).parts
        if any(part.startswith(".") for part in parts):  # hidden folders are never scanned
            continue
        audio = [f for f in folder.iterdir() if f.suffix in AUDIO]
        if not audio:
            continue
        book = {"authors": [parts[0]] if len(parts) > 1 else [], "series": parts[1] if len(parts) == 3 else None}
        vol = re.fullmatch(r"(?:Vol\.? |Volume |Book )?(\d+)(?: -|\.) (.+)", parts[-1])
        book["sequence"], book["title"] = (vol.group(1), vol.group(2)) if vol else (None, parts[-1])
        assert "{" not in parts[-1]  # braces would be read as a narrator
        if (folder / "desc.txt").exists():
            book["description"] = (folder / "desc.txt").read_text("utf-8").strip()
        if (folder / "reader.txt").exists():
            book["narrator"] = (folder / "reader.txt").read_text("utf-8").splitlines()[0]
        for opf in folder.glob("*.opf"):
            meta = ET.parse(opf).getroot().find("opf:metadata", OPF_NS)
            book["title"] = meta.findtext("dc:title", namespaces=OPF_NS)
            creators = [(c.get(f"{{{OPF_NS['opf']}}}role"), c.text) for c in meta.findall("dc:creator", OPF_NS)]
            book["authors"] = [name for role, name in creators if role == "aut"]
            book["narrator"] = next(name for role, name in creators if role == "nrt")
            book["description"] = meta.findtext("dc:description", namespaces=OPF_NS)
            book["genres"] = [s.text for s in meta.findall("dc:subject", OPF_NS)]
            book["language"] = meta.findtext("dc:language", namespaces=OPF_NS)
            calibre = {m.get("name"): m.get("content") for m in meta.findall("opf:meta", OPF_NS)}
            if "calibre:series" in calibre:
                book["series"] = calibre["calibre:series"]
                book["sequence"] = calibre.get("calibre:series_index")
        covers = sorted(f for f in folder.iterdir() if f.stem == "cover" and f.suffix in (".jpg", ".jpeg", ".png"))
        book["cover"] = covers[0] if covers else None
        tracks = []
        for f in audio:
            tags = ID3(f)
            tracks.append((int(str(tags["TRCK"]).split("/")[0]), str(tags["TIT2"]), f))
        tracks.sort()
        titles = [title for _, title, _ in tracks]
        book["chapters"] = titles if len(set(titles)) == len(titles) else [f.stem for _, _, f in tracks]
        book["folder"] = folder
        books[book["title"]] = book
    return books


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    base = tmp_path_factory.mktemp("abs")
    sources = base / "downloads"
    sources.mkdir()
    write_work(sources, "one", "The Ferry", "Part 1 of Harbour Tales")
    write_work(sources, "two", "The Storm: {Again}", "Part 2 of Harbour Tales", first="Night")
    alone = sources / "alone.txt"
    alone.write_text(WORK.format(title="A Quiet Day", author="Ines/Bay", series="", summary="Nothing happens.",
                                 first="Morning").replace("Series: \n", ""), "utf-8")
    out = base / "library"
    result = run_cli("shelf", sources, "-o", out, "--layout", "audiobookshelf", "-j", "2")
    assert result.returncode == 0, result.stderr
    return base, out


def test_the_scanner_finds_every_works_metadata_and_chapters(library):
    _, out = library
    books = scan(out)
    assert set(books) == {"The Ferry", "The Storm: {Again}", "A Quiet Day"}
    ferry, storm, quiet = books["The Ferry"], books["The Storm: {Again}"], books["A Quiet Day"]
    assert ferry["folder"].relative_to(out).parts == ("Wren", "Harbour Tales", "Vol 1 - The Ferry")
    assert storm["folder"].relative_to(out).parts[:2] == ("Wren", "Harbour Tales")
    assert quiet["folder"].relative_to(out).parts == ("Ines Bay", "A Quiet Day")  # no series folder; safe name
    for book, sequence in ((ferry, "1"), (storm, "2")):
        assert book["series"] == "Harbour Tales" and book["sequence"] == sequence
        assert book["authors"] == ["Wren"]
    assert quiet["series"] is None and quiet["authors"] == ["Ines/Bay"]
    assert ferry["description"] == "A short tale called The Ferry, told at the harbour."
    assert quiet["description"] == "Nothing happens."
    assert "Harbour Tales (Original Work)" in ferry["genres"] and "Found Family" in ferry["genres"]
    assert ferry["language"] == "en"
    for book in books.values():
        assert book["narrator"].startswith("audiofic (pyttsx3 ")
        assert (book["folder"] / "reader.txt").read_text("utf-8").splitlines()[0] == book["narrator"]
        assert Image.open(book["cover"]).format == "JPEG"
    assert ferry["chapters"] == ["Chapter 1: Dawn", "Chapter 2: The Pier"]
    assert storm["chapters"] == ["Chapter 1: Night", "Chapter 2: The Pier"]
    # the folder name agrees with the OPF, so the scanner is right whichever source it prefers
    assert scan_folder_names(out)["Vol 1 - The Ferry"] == ("Wren", "Harbour Tales")


def scan_folder_names(out: Path) -> dict[str, tuple]:
    return {p.name: p.relative_to(out).parts[:-1] for p in out.rglob("*") if p.is_dir() and (p / "reader.txt").exists()}


def test_every_command_finds_the_works_without_the_flag(library):
    base, out = library
    source = base / "downloads" / "one.txt"
    cache = run_cli("cache", "-o", out)
    assert cache.returncode == 0, cache.stderr
    listed = {line.split(":")[0] for line in cache.stdout.splitlines() if "segments," in line and ":" in line}
    assert "Wren/Harbour Tales/Vol 1 - The Ferry" in listed and "Ines Bay/A Quiet Day" in listed
    cast = run_cli("cast", source, "-o", out, "--audition")
    assert cast.returncode == 0 and "Mara" in cast.stdout
    auditions = list((out / "Wren" / "Harbour Tales" / "Vol 1 - The Ferry" / ".audiofic" / "audition").glob("*.wav"))
    assert auditions and scan(out)["The Ferry"]["chapters"] == ["Chapter 1: Dawn", "Chapter 2: The Pier"]
    again = run_cli("render", source, "-o", out)
    assert again.returncode == 0, again.stderr
    assert "0 rendered, 2 skipped" in again.stdout
    assert [str(p) for p in feeds(out)] == ["shelf.opml", "Ines Bay/A Quiet Day/feed.xml",
                                            "Wren/Harbour Tales/Vol 1 - The Ferry/feed.xml",
                                            "Wren/Harbour Tales/Vol 2 - The Storm - (Again)/feed.xml"]
    opml = (out / "shelf.opml").read_text("utf-8")
    assert "http://127.0.0.1:8000/Wren/Harbour%20Tales/Vol%201%20-%20The%20Ferry/feed.xml" in opml
    refused = run_cli("render", source, "-o", out, "--layout", "folders")
    assert refused.returncode != 0 and "audiobookshelf layout" in refused.stderr
    assert "Traceback" not in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_series_voices_carry_over_in_the_library(library):
    _, out = library
    one = tomllib.loads((out / "Wren" / "Harbour Tales" / "Vol 1 - The Ferry" / "voices.toml").read_text("utf-8"))
    storm = next((out / "Wren" / "Harbour Tales").glob("Vol 2 - *"))
    two = tomllib.loads((storm / "voices.toml").read_text("utf-8"))
    for name in ("Mara", "Tobias"):
        assert two["characters"][name]["voice"] == one["characters"][name]["voice"]


def test_a_work_whose_series_changed_moves_and_keeps_its_audio(tmp_path):
    out = tmp_path / "lib"
    source = write_work(tmp_path, "w", "The Ferry", "Part 1 of Harbour Tales")
    assert run_cli("render", source, "-o", out, "--layout", "audiobookshelf").returncode == 0
    old = out / "Wren" / "Harbour Tales" / "Vol 1 - The Ferry"
    before = sorted(f.name for f in old.glob("*.mp3"))
    write_work(tmp_path, "w", "The Ferry", "Part 3 of Harbour Stories")
    moved = run_cli("render", source, "-o", out)
    assert moved.returncode == 0, moved.stderr
    new = out / "Wren" / "Harbour Stories" / "Vol 3 - The Ferry"
    assert not old.exists() and not (out / "Wren" / "Harbour Tales").exists()  # nothing left behind
    assert sorted(f.name for f in new.glob("*.mp3")) == before
    assert "0 rendered" in moved.stdout and "0 synthesized" in moved.stdout  # moved, not made again
    assert list(scan(out)) == ["The Ferry"]
    assert scan(out)["The Ferry"]["series"] == "Harbour Stories" and scan(out)["The Ferry"]["sequence"] == "3"


def test_one_audio_format_per_book(tmp_path):
    source = write_work(tmp_path, "w", "The Ferry", "Part 1 of Harbour Tales")
    result = run_cli("render", source, "-o", tmp_path / "lib", "--layout", "audiobookshelf",
                     "--format", "mp3", "--format", "m4b")
    assert result.returncode != 0 and "one --format" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "lib" / "Wren").exists()
