"""Ingest for EPUB: AO3's, FanFicFare's, or any valid EPUB 2/3.

An EPUB is a zip from the internet, so: nothing is ever extracted to disk (every member is
read into memory, so no path inside the archive can name a file we write), the number of
members and their unpacked sizes are bounded (zip bombs), and XML with entity declarations is
refused before parsing (no billion laughs, no external entities, no DTD fetching).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from urllib.parse import unquote
from xml.etree import ElementTree
from xml.parsers import expat

from ..errors import AudioficError
from .htmltext import Node, block_text, parse_html
from .webfic import RawChapter, RawWork, _labelled_blocks, apply_label, read_ao3_preface

MAX_MEMBERS = 5000
MAX_MEMBER_BYTES = 32 * 1024 * 1024
MAX_TOTAL_BYTES = 256 * 1024 * 1024
MAX_RATIO = 200  # unpacked / packed, per member
MAX_TEXT_CHARS = 64 * 1024 * 1024  # all chapter text together, whatever the spine repeats

NS = {
    "c": "urn:oasis:names:tc:opendocument:xmlns:container",
    "opf": "http://www.idpf.org/2007/opf",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ncx": "http://www.daisy.org/z3986/2005/ncx/",
}


def is_epub(data_head: bytes) -> bool:
    return data_head.startswith(b"PK\x03\x04")


class _Archive:
    def __init__(self, path: Path):
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise AudioficError(f"{path.name}: not a readable EPUB ({exc})") from None
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise AudioficError(f"{path.name}: too many files inside ({len(infos)}; the limit is {MAX_MEMBERS})")
        total = sum(i.file_size for i in infos)
        if total > MAX_TOTAL_BYTES:
            raise AudioficError(f"{path.name}: unpacks to {total // 1_000_000} MB; the limit is "
                                f"{MAX_TOTAL_BYTES // 1_000_000} MB")
        for info in infos:
            if info.file_size > MAX_MEMBER_BYTES or (
                info.compress_size and info.file_size / info.compress_size > MAX_RATIO and info.file_size > 1_000_000
            ):
                raise AudioficError(f"{path.name}: {info.filename!r} unpacks suspiciously large; refusing it")
        self.names = {i.filename for i in infos}
        self.label = path.name

    def read(self, name: str) -> bytes:
        if name not in self.names:
            raise AudioficError(f"{self.label}: {name!r} is missing from the EPUB")
        try:
            with self.zip.open(name) as member:
                data = member.read(MAX_MEMBER_BYTES + 1)  # never trust the size the header claims
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, RuntimeError) as exc:
            raise AudioficError(f"{self.label}: {name!r} is damaged inside the EPUB ({exc})") from None
        if len(data) > MAX_MEMBER_BYTES:
            raise AudioficError(f"{self.label}: {name!r} unpacks suspiciously large; refusing it")
        return data

    def text(self, name: str) -> str:
        data = self.read(name)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return data.decode("cp1252", errors="replace")


class _Refused(Exception):
    pass


def _refuse(*_args):
    raise _Refused


def _refuse_subset(_name, _system_id, _public_id, has_internal_subset):
    if has_internal_subset:
        raise _Refused


def safe_xml(data: bytes, where: str) -> ElementTree.Element:
    """Parse XML that declares no entities, in whatever encoding it is written: expat reads it
    once with every declaration refused, then ElementTree builds the tree."""
    refused = AudioficError(f"{where}: XML entity declarations are not allowed in an EPUB; refusing it")
    if re.search(rb"<!ENTITY", data.replace(b"\x00", b""), re.I):
        raise refused
    checker = expat.ParserCreate()
    checker.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    checker.EntityDeclHandler = checker.UnparsedEntityDeclHandler = _refuse
    checker.ExternalEntityRefHandler = _refuse
    checker.StartDoctypeDeclHandler = _refuse_subset
    try:
        checker.Parse(data, True)
        return ElementTree.fromstring(data)
    except _Refused:
        raise refused from None
    except (expat.ExpatError, ElementTree.ParseError, ValueError, LookupError) as exc:
        raise AudioficError(f"{where}: malformed XML ({exc})") from None


def _join(base: str, href: str) -> str:
    return posixpath.normpath(posixpath.join(base, unquote(href.split("#")[0])))


def read_epub(path: Path) -> RawWork:
    archive = _Archive(path)
    if "META-INF/container.xml" not in archive.names:
        raise AudioficError(f"{path.name}: not an EPUB (no META-INF/container.xml)")
    if "META-INF/encryption.xml" in archive.names or "META-INF/rights.xml" in archive.names:
        if _encrypts_content(archive):
            raise AudioficError(f"{path.name}: this EPUB is encrypted (DRM); audiofic can only read EPUBs "
                                "without DRM, such as AO3's downloads")
    container = safe_xml(archive.read("META-INF/container.xml"), f"{path.name}: container.xml")
    rootfile = container.find(".//c:rootfile", NS)
    if rootfile is None or not rootfile.get("full-path"):
        raise AudioficError(f"{path.name}: container.xml names no package file")
    opf_path = rootfile.get("full-path")
    opf = safe_xml(archive.read(opf_path), f"{path.name}: {opf_path}")
    base = posixpath.dirname(opf_path)

    raw = RawWork()
    metadata = opf.find("opf:metadata", NS)
    if metadata is not None:
        _read_dc(metadata, raw)
    manifest = {item.get("id"): item for item in opf.iterfind("opf:manifest/opf:item", NS)}
    spine = opf.find("opf:spine", NS)
    if spine is None:
        raise AudioficError(f"{path.name}: the package has no spine")
    titles = _toc_titles(archive, manifest, spine, base)
    nav_hrefs = {_join(base, i.get("href", "")) for i in manifest.values() if "nav" in (i.get("properties") or "").split()}

    seen: set[str] = set()
    total = 0
    for itemref in spine.iterfind("opf:itemref", NS):
        item = manifest.get(itemref.get("idref"))
        if item is None or "html" not in (item.get("media-type") or ""):
            continue
        href = _join(base, item.get("href", ""))
        if (href in nav_hrefs and itemref.get("linear") != "yes") or href in seen:
            continue  # a document the spine names twice is read once
        seen.add(href)
        html = archive.text(href)
        total += len(html)
        if total > MAX_TEXT_CHARS:
            raise AudioficError(f"{path.name}: more than {MAX_TEXT_CHARS // 1_000_000} MB of text; refusing it")
        root = parse_html(html)
        if _read_front_matter(root, raw):
            continue
        chapter = _read_chapter(root, titles.get(href), len(raw.chapters) + 1)
        if chapter is not None:
            raw.chapters.append(chapter)
    if not raw.chapters:
        raise AudioficError(f"{path.name}: the EPUB holds no chapter text")
    return raw


def _encrypts_content(archive: _Archive) -> bool:
    """encryption.xml that covers more than fonts (obfuscated fonts are common and harmless)."""
    if "META-INF/rights.xml" in archive.names:
        return True
    data = archive.read("META-INF/encryption.xml")
    targets = re.findall(rb"URI\s*=\s*[\"']([^\"']+)", data.replace(b"\x00", b""))
    return not targets or any(not re.search(rb"\.(otf|ttf|woff2?)$", t, re.I) for t in targets)


def _read_dc(metadata: ElementTree.Element, raw: RawWork) -> None:
    def texts(tag: str) -> list[str]:
        return [re.sub(r"\s+", " ", "".join(e.itertext())).strip() for e in metadata.iterfind(f"dc:{tag}", NS)]

    raw.title = next(iter(texts("title")), "")
    raw.authors = [a for a in texts("creator") if a]
    language = next(iter(texts("language")), None)
    if language:
        raw.meta["language"] = language
    description = next(iter(texts("description")), None)
    if description:
        raw.summary = block_text(parse_html(description), emphasis=False) if "<" in description else description
    for url in texts("source") + texts("identifier"):
        if url.startswith("http"):
            raw.meta.setdefault("url", url)
    subjects = [s for s in texts("subject") if s]
    if subjects:
        raw.meta.setdefault("tags", []).extend(subjects)
    dates = texts("date")
    if dates:
        raw.meta.setdefault("published", dates[0][:10])


def _toc_titles(archive: _Archive, manifest: dict, spine, base: str) -> dict[str, str]:
    """Chapter titles by document, from the EPUB 3 nav, else the EPUB 2 NCX."""
    titles: dict[str, str] = {}
    for item in manifest.values():
        if "nav" in (item.get("properties") or "").split():
            nav_path = _join(base, item.get("href", ""))
            root = parse_html(archive.text(nav_path))
            nav_base = posixpath.dirname(nav_path)
            for a in root.find_all("a"):
                target = _join(nav_base, a.attrs.get("href", ""))
                titles.setdefault(target, a.plain())
    ncx_item = manifest.get(spine.get("toc") or "")
    if not titles and ncx_item is not None:
        ncx_path = _join(base, ncx_item.get("href", ""))
        ncx = safe_xml(archive.read(ncx_path), ncx_path)
        for point in ncx.iterfind(".//ncx:navPoint", NS):
            label = point.find("ncx:navLabel/ncx:text", NS)
            content = point.find("ncx:content", NS)
            if label is not None and content is not None:
                titles.setdefault(_join(posixpath.dirname(ncx_path), content.get("src", "")),
                                  re.sub(r"\s+", " ", label.text or "").strip())
    return titles


def _read_front_matter(root: Node, raw: RawWork) -> bool:
    """AO3's preface and afterword pages, FanFicFare's title page: metadata, not chapters."""
    if root.find("dl", cls="tags") is not None:  # AO3 preface
        read_ao3_preface(root, raw)
        return True
    if root.find(id="afterword") is not None:
        blocks = _labelled_blocks(root)
        raw.end_notes = blocks.get("end notes") or blocks.get("notes") or raw.end_notes
        return True
    labels = [b for b in root.find_all() if b.tag in ("b", "strong") and b.plain().endswith(":")]
    if len(labels) >= 3:  # FanFicFare's title page: <b>Label:</b> value<br/>
        renamed = {"category": "fandom", "genre": "additional tags"}  # FanFicFare's words for them
        for b in labels:
            value = _text_after(b)
            label = b.plain().rstrip(":").strip().lower()
            apply_label(renamed.get(label, label), value, [v.strip() for v in value.split(",") if v.strip()], raw.meta)
        if "summary" in raw.meta:
            raw.summary = raw.meta.pop("summary")
        for key in ("title", "authors"):
            if key in raw.meta:
                setattr(raw, key, raw.meta.pop(key))
        return True
    return False


def _text_after(label: Node) -> str:
    """The text that follows a label up to the next line break or label."""
    parent = label.parent
    if parent is None:
        return ""
    out, started = [], False
    for child in parent.children:
        if child is label:
            started = True
            continue
        if not started:
            continue
        if isinstance(child, Node) and (child.tag in ("br", "b", "strong") or child.tag in ("p", "div")):
            break
        out.append(child if isinstance(child, str) else child.plain())
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _read_chapter(root: Node, toc_title: str | None, number: int) -> RawChapter | None:
    body = root.find("body") or root
    heading = body.find("h2", cls="heading") or next(
        (h for level in ("h1", "h2", "h3") for h in body.find_all(level)), None)
    title = (heading.plain() if heading is not None else "") or toc_title or f"Chapter {number}"
    meta = body.find(cls="meta")
    labelled = _labelled_blocks(meta) if meta is not None else {}
    end_block = body.find(cls="endnotes") or next((n for n in body.iter() if n.id.startswith("endnotes")), None)
    end_notes = (next(iter(_labelled_blocks(end_block).values()), None) or block_text(end_block, emphasis=False)) \
        if end_block is not None else None
    for node in (heading, meta, end_block):
        if node is not None:
            node.children = []
    text_node = body.find(cls="userstuff") or body
    for landmark in text_node.find_all(cls="landmark"):
        landmark.children = []
    text = block_text(text_node)
    if not re.search(r"\w", text):
        return None  # a cover or an empty page
    return RawChapter(title=title, text=text, summary=labelled.get("summary") or labelled.get("chapter summary"),
                      notes=labelled.get("notes") or labelled.get("chapter notes"), end_notes=end_notes)
