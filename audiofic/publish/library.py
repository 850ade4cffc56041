"""Where works live in an output folder, and an Audiobookshelf library as its scanner reads it.

Two layouts: `folders` (OUTPUT/<work-slug>/, the default) and `audiobookshelf`
(OUTPUT/Author/Series/Vol N - Title/, or OUTPUT/Author/Title/, with cover.jpg, desc.txt,
reader.txt and an OPF beside the audio). The layout is recorded in OUTPUT/.audiofic/library.json,
so every command finds the works without being told again. Audiobookshelf skips dot-folders:
audiofic's state in `.audiofic/` stays out of its way.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..errors import AudioficError
from ..files import atomic_write, write_if_changed
from ..model import Work
from .tag import safe_filename

STATE_DIR = ".audiofic"
LAYOUTS = ("folders", "audiobookshelf")
LIBRARY_FILE = "library.json"
OPF_NAME = "metadata.opf"
UNKNOWN_AUTHOR = "Unknown author"
FOLDER_CHARS = 80  # each of Author, Series and Title: deep paths stay far inside every system's limit


def recorded_layout(output: Path) -> str | None:
    try:
        layout = json.loads((Path(output) / STATE_DIR / LIBRARY_FILE).read_text("utf-8")).get("layout")
    except (OSError, ValueError, AttributeError):
        return None
    return layout if layout in LAYOUTS else None


def choose_layout(output: Path, asked: str | None) -> str:
    """The layout a command uses: the one asked for, else the one the folder records. A library
    is kept in one layout: asking for the other one in a folder that holds works is refused."""
    recorded = recorded_layout(output) or ("folders" if _folder_works(Path(output)) else None)
    if asked and recorded and asked != recorded:
        raise AudioficError(f"{output} holds a library in the {recorded} layout; render with --layout {recorded} "
                            "or into another folder with -o")
    return asked or recorded or "folders"


def record_layout(output: Path, layout: str) -> None:
    if layout != "folders" and recorded_layout(output) != layout:
        atomic_write(Path(output) / STATE_DIR / LIBRARY_FILE, json.dumps({"layout": layout}) + "\n")


def _folder_works(output: Path) -> list[Path]:
    return sorted(p.parent.parent for p in output.glob(f"*/{STATE_DIR}/manifest.json"))


def work_folders(output: Path) -> list[Path]:
    """Every work's folder under OUTPUT, in either layout."""
    output = Path(output)
    if recorded_layout(output) != "audiobookshelf":
        return _folder_works(output)
    found = []
    for depth in ("*", "*/*", "*/*/*"):
        found += [p.parent.parent for p in output.glob(f"{depth}/{STATE_DIR}/manifest.json")
                  if not any(part.startswith(".") for part in p.parent.parent.relative_to(output).parts)]
    return sorted(found)


def _folder_name(text: str) -> str:
    """A folder name Audiobookshelf reads back as written: braces would name a narrator."""
    return safe_filename(text.replace("{", "(").replace("}", ")"), FOLDER_CHARS)


def book_folder(work: Work) -> Path:
    """Author/Series/Vol N - Title for a work in a series, else Author/Title."""
    author = _folder_name(" & ".join(work.authors) or UNKNOWN_AUTHOR)
    title = _folder_name(work.title)
    if not work.series:
        return Path(author) / title
    if work.series_part:
        title = _folder_name(f"Vol {work.series_part} - {work.title}")
    return Path(author) / _folder_name(work.series) / title


_XML_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0 at all


def opf(work: Work, narrator: str) -> bytes:
    """The work's metadata as an OPF package, as calibre writes it (series in calibre's metas,
    roles as opf:role), which Audiobookshelf and calibre both read."""
    def dc(name: str, text: str, **attrs: str) -> str:
        extra = "".join(f" {key.replace('_', ':')}={quoteattr(value)}" for key, value in attrs.items())
        return f"    <dc:{name}{extra}>{escape(_XML_UNSAFE.sub('', text))}</dc:{name}>"

    lines = [dc("identifier", work.url or f"urn:audiofic:{work.title}|{work.author}", id="id"), dc("title", work.title)]
    lines += [dc("creator", author, opf_role="aut") for author in work.authors or [UNKNOWN_AUTHOR]]
    lines.append(dc("creator", narrator, opf_role="nrt"))
    if work.summary:
        lines.append(dc("description", work.summary.strip()))
    lines.append(dc("language", work.language))
    if work.published:
        lines.append(dc("date", work.published))
    lines += [dc("subject", s) for s in dict.fromkeys(work.fandoms + work.relationships + work.characters + work.tags)]
    if work.url:
        lines.append(dc("source", work.url))
    lines.append(dc("publisher", "Archive of Our Own" if "archiveofourown.org" in (work.url or "") else "audiofic"))
    if work.series:
        lines.append(f'    <meta name="calibre:series" content={quoteattr(work.series)}/>')
        if work.series_part:
            lines.append(f'    <meta name="calibre:series_index" content="{work.series_part}"/>')
    return "\n".join([
        '<?xml version="1.0" encoding="utf-8"?>',
        '<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">',
        '  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">',
        *lines, "  </metadata>", "</package>", ""]).encode("utf-8")


def write_sidecars(out_dir: Path, work: Work, reader_lines: list[str]) -> None:
    """desc.txt, reader.txt (the narrator on its first line) and the OPF, rewritten only when
    their contents change."""
    write_if_changed(out_dir / "desc.txt", ((work.summary or "").strip() + "\n").encode("utf-8"))
    write_if_changed(out_dir / "reader.txt", ("\n".join(reader_lines) + "\n").encode("utf-8"))
    write_if_changed(out_dir / OPF_NAME, opf(work, reader_lines[0]))
