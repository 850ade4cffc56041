"""An EPUB 3 of the work with Media Overlays: each chapter's text as it is read (its paragraphs,
scene breaks and dialogue, each sentence a span classed by its reader), its MP3 inside, and a
SMIL overlay that highlights each sentence while it is heard. Written as one zip, deterministically
(fixed entry times), under a temporary name and renamed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from ..files import fresh, partial_name
from ..model import Work
from .captions import clock

ACTIVE_CLASS = "-epub-media-overlay-active"
ZIP_TIME = (2000, 1, 1, 0, 0, 0)
CSS = f"""body {{ font-family: serif; line-height: 1.5; }}
h1, p.heading {{ font-size: 1.4em; font-weight: bold; }}
hr.scene {{ border: none; text-align: center; margin: 1.5em 0; }}
hr.scene::after {{ content: "* * *"; }}
.character {{ color: #1d3f6e; }}
.{ACTIVE_CLASS} {{ background-color: #ffe9a8; }}
"""


@dataclass
class Span:
    text: str
    reader: str  # "narrator" or a character's name
    start: float
    end: float
    before: str = ""  # an opening quotation mark, shown outside the highlight
    after: str = ""


@dataclass
class Block:
    kind: str  # "heading", "paragraph" or "scene"
    spans: list[Span] = field(default_factory=list)


@dataclass
class EpubChapter:
    number: int
    title: str
    audio: Path
    blocks: list[Block]


def _class(reader: str) -> str:
    if reader in ("narrator", "dialogue"):
        return "narrator"
    slug = re.sub(r"[^a-z0-9]+", "-", reader.lower()).strip("-") or "someone"
    return f"character c-{slug}"


def chapter_xhtml(ch: EpubChapter, language: str) -> str:
    body, n = [], 0
    for block in ch.blocks:
        if block.kind == "scene":
            body.append('<hr class="scene"/>')
            continue
        parts = []
        for span in block.spans:
            n += 1
            parts.append(f'{span.before}<span id="s{n}" class="{_class(span.reader)}">{escape(span.text)}</span>'
                         f"{span.after}")
        if block.kind == "heading" and len(block.spans) == 1:
            body.append(f"<h1>{parts[0]}</h1>")
        else:
            opening = '<p class="heading">' if block.kind == "heading" else "<p>"
            body.append(f"{opening}{' '.join(parts)}</p>")
    if not any(b.kind == "heading" for b in ch.blocks):
        body.insert(0, f"<h1>{escape(ch.title)}</h1>")
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n'
            f'<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" '
            f'xml:lang={quoteattr(language)} lang={quoteattr(language)}>\n<head>\n<meta charset="utf-8"/>\n'
            f'<title>{escape(ch.title)}</title>\n<link rel="stylesheet" type="text/css" href="style.css"/>\n'
            '</head>\n<body>\n<section id="chapter" epub:type="chapter">\n' + "\n".join(body) + "\n</section>\n</body>\n</html>\n")


def chapter_smil(ch: EpubChapter, page: str, audio: str) -> tuple[str, float]:
    """The overlay, and the time it plays (the sum of its clips, as the package metadata says)."""
    pars, total, n = [], 0.0, 0
    for block in ch.blocks:
        for span in block.spans:
            n += 1
            total += round(span.end, 3) - round(span.start, 3)
            pars.append(f'<par id="p{n}"><text src="{page}#s{n}"/><audio src="{audio}" '
                        f'clipBegin="{span.start:.3f}s" clipEnd="{span.end:.3f}s"/></par>')
    smil = ('<?xml version="1.0" encoding="utf-8"?>\n<smil xmlns="http://www.w3.org/ns/SMIL" '
            'xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">\n<body>\n'
            f'<seq id="seq1" epub:textref="{page}#chapter" epub:type="chapter">\n' + "\n".join(pars) + "\n</seq>\n</body>\n</smil>\n")
    return smil, total


def nav(work: Work, chapters: list[EpubChapter]) -> str:
    items = "\n".join(f'<li><a href="c{c.number:03d}.xhtml">{escape(c.title)}</a></li>' for c in chapters)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE html>\n<html xmlns="http://www.w3.org/1999/xhtml" '
            f'xmlns:epub="http://www.idpf.org/2007/ops" xml:lang={quoteattr(work.language)} '
            f'lang={quoteattr(work.language)}>\n<head>\n<meta charset="utf-8"/>\n<title>{escape(work.title)}</title>\n'
            f'</head>\n<body>\n<nav epub:type="toc" id="toc">\n<h1>{escape(work.title)}</h1>\n<ol>\n{items}\n</ol>\n'
            "</nav>\n</body>\n</html>\n")


def package(work: Work, identity: str, chapters: list[EpubChapter], durations: list[float], modified: str,
            has_cover: bool) -> str:
    meta = [f'<dc:identifier id="uid">urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, "audiofic:" + identity)}</dc:identifier>',
            f"<dc:title>{escape(work.title)}</dc:title>", f"<dc:language>{escape(work.language)}</dc:language>"]
    meta += [f"<dc:creator>{escape(a)}</dc:creator>" for a in work.authors or ["Unknown author"]]
    subjects = dict.fromkeys([*work.fandoms, *work.relationships, *work.characters, *work.tags])
    meta += [f"<dc:subject>{escape(s)}</dc:subject>" for s in subjects if s.strip()]
    if work.summary:
        meta.append(f"<dc:description>{escape(work.summary)}</dc:description>")
    if work.url:
        meta.append(f"<dc:source>{escape(work.url)}</dc:source>")
    if work.series:
        meta += [f'<meta property="belongs-to-collection" id="series">{escape(work.series)}</meta>',
                 '<meta refines="#series" property="collection-type">series</meta>']
        if work.series_part:
            meta.append(f'<meta refines="#series" property="group-position">{work.series_part}</meta>')
    meta.append(f'<meta property="dcterms:modified">{modified}</meta>')
    meta += [f'<meta property="media:duration" refines="#mo{c.number}">{clock(d)}</meta>'
             for c, d in zip(chapters, durations)]
    meta += [f'<meta property="media:duration">{clock(sum(durations))}</meta>',
             f'<meta property="media:active-class">{ACTIVE_CLASS}</meta>']
    items = ['<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>',
             '<item id="css" href="style.css" media-type="text/css"/>']
    if has_cover:
        items.append('<item id="cover" href="cover.jpg" media-type="image/jpeg" properties="cover-image"/>')
    for c in chapters:
        items += [f'<item id="c{c.number}" href="c{c.number:03d}.xhtml" media-type="application/xhtml+xml" '
                  f'media-overlay="mo{c.number}"/>',
                  f'<item id="mo{c.number}" href="c{c.number:03d}.smil" media-type="application/smil+xml"/>',
                  f'<item id="a{c.number}" href="audio/c{c.number:03d}.mp3" media-type="audio/mpeg"/>']
    spine = "\n".join(f'<itemref idref="c{c.number}"/>' for c in chapters)
    return ('<?xml version="1.0" encoding="utf-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
            f'unique-identifier="uid" xml:lang={quoteattr(work.language)}>\n'
            '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">\n' + "\n".join(meta) + "\n</metadata>\n"
            "<manifest>\n" + "\n".join(items) + f"\n</manifest>\n<spine>\n{spine}\n</spine>\n</package>\n")


CONTAINER = ('<?xml version="1.0" encoding="utf-8"?>\n<container version="1.0" '
             'xmlns="urn:oasis:names:tc:opendocument:xmlns:container">\n<rootfiles>\n'
             '<rootfile full-path="EPUB/content.opf" media-type="application/oebps-package+xml"/>\n'
             "</rootfiles>\n</container>\n")


def write_epub(path: Path, work: Work, identity: str, chapters: list[EpubChapter], cover: bytes | None,
               modified: dt.datetime) -> None:
    entries: list[tuple[str, bytes | Path, int]] = [("mimetype", b"application/epub+zip", zipfile.ZIP_STORED),
                                             ("META-INF/container.xml", CONTAINER.encode(), zipfile.ZIP_DEFLATED)]
    durations = []
    for c in chapters:
        page = f"c{c.number:03d}.xhtml"
        smil, seconds = chapter_smil(c, page, f"audio/c{c.number:03d}.mp3")
        durations.append(seconds)
        entries += [(f"EPUB/{page}", chapter_xhtml(c, work.language).encode(), zipfile.ZIP_DEFLATED),
                    (f"EPUB/c{c.number:03d}.smil", smil.encode(), zipfile.ZIP_DEFLATED),
                    (f"EPUB/audio/c{c.number:03d}.mp3", c.audio, zipfile.ZIP_STORED)]
    stamp = modified.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries += [("EPUB/content.opf", package(work, identity, chapters, durations, stamp, cover is not None).encode(),
                 zipfile.ZIP_DEFLATED),
                ("EPUB/nav.xhtml", nav(work, chapters).encode(), zipfile.ZIP_DEFLATED),
                ("EPUB/style.css", CSS.encode(), zipfile.ZIP_DEFLATED)]
    if cover is not None:
        entries.append(("EPUB/cover.jpg", cover, zipfile.ZIP_STORED))
    tmp = fresh(partial_name(path))
    try:
        with zipfile.ZipFile(tmp, "x") as archive:
            for name, data, method in entries:
                info = zipfile.ZipInfo(name, ZIP_TIME)
                info.compress_type = method
                if isinstance(data, Path):  # audio: streamed, never whole in memory
                    with open(data, "rb") as src, archive.open(info, "w") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                else:
                    archive.writestr(info, data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
