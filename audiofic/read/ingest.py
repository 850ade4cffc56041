"""Ingest: a file on disk becomes a Work with metadata and chapters.

Offsets matter: every chapter keeps the position of its text in the decoded file, so
`script --format jsonl` can point back into the source. To keep them exact, line endings
are normalised without changing the length of the text ("\\r\\n" becomes " \\n").
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import unicodedata
import warnings
from pathlib import Path

from ..errors import AudioficError
from ..model import Chapter, Work

MAX_INPUT_BYTES = 64 * 1024 * 1024

# Keys of a fic's header block ("Title: …", "Author: …"), lower-cased, apostrophes as "'".
HEADER_KEYS = {
    "title", "author", "authors", "by", "writer", "rating", "rated", "pairing", "pairings",
    "summary", "sumary", "summery", "warning", "warnings", "genre", "genres", "disclaimer",
    "an", "a/n", "a.n.", "author's note", "author's notes", "authors note", "authors notes",
    "author note", "author notes", "note", "notes", "feedback", "fandom", "fandoms",
    "character", "characters", "category", "categories", "spoilers", "spoiler", "archive",
    "archiving", "distribution", "word count", "words", "status", "series", "timeline",
    "setting", "beta", "beta reader", "betas", "dedication", "email", "e-mail", "website",
    "language", "tags", "relationship", "relationships", "prompt", "challenge", "date",
    "completed", "chapters", "part", "parts", "content notes", "content warning", "content warnings",
    "cw", "tw", "thanks", "acknowledgements", "written for", "fic", "story", "crossover", "universe",
}

_KEY_LINE = re.compile(r"^\s*([A-Za-z][A-Za-z`'’./ -]{0,24}?)\s*:\s*(.*?)\s*$")

_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
    "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundred"
)
_NUMBER = rf"(?:\d+|[ivxlcdm]+|(?:{_NUMBER_WORDS})(?:[- ](?:{_NUMBER_WORDS}))*)"
_DECOR = r"[~*=#_\s\-–—]*"
_HEADING_NUMBERED = re.compile(
    rf"^{_DECOR}(?P<kind>chapter|part|book|ch\.)\s*:?\s*(?P<num>{_NUMBER})\b"
    rf"(?:\s*[:.\-–—]\s*(?P<title>.*?))?{_DECOR}$",
    re.IGNORECASE,
)
_HEADING_NAMED = re.compile(
    rf"^{_DECOR}(?P<kind>prologue|epilogue|interlude|afterword|foreword)\b"
    rf"(?:\s*[:.\-–—]?\s*(?P<title>.*?))?{_DECOR}$",
    re.IGNORECASE,
)
_HEADING_MARKDOWN = re.compile(r"^#{1,3}[ \t]+(?P<title>\S.*?)[ \t#]*$")


def read_source(path: Path) -> str:
    """Decode a text file as people save them: UTF-8 (BOM or not), UTF-16 or UTF-32 with a BOM
    (Windows Notepad), UTF-8 with a few bad bytes (replaced, with a warning), else cp1252."""
    data = _read_bytes(path)
    text = decode_text(data, path.name)
    if _looks_binary(text):
        raise AudioficError(f"{path}: this looks like a binary file, not text")
    return normalise_newlines(text)


def decode_text(data: bytes, name: str) -> str:
    for bom, codec in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                       (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    good = sum(1 for c in text if ord(c) > 127 and c != "\ufffd")
    if good > bad:  # real UTF-8 around a stray byte or two: keep it UTF-8, lose only those bytes
        warnings.warn(f"{name}: {bad} byte{'s' if bad != 1 else ''} not valid UTF-8, replaced")
        return text
    text = data.decode("cp1252", errors="replace")
    if not _looks_binary(text):
        warnings.warn(f"{name} is not valid UTF-8; reading it as Windows-1252")
    return text


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise AudioficError(f"{path}: no such file")
    if path.is_dir():
        raise AudioficError(f"{path}: is a folder, not a work; to render every work in it: audiofic shelf {path}")
    try:
        size = path.stat().st_size
        if size > MAX_INPUT_BYTES:
            raise AudioficError(f"{path}: too large ({size // 1_000_000} MB; the limit is 64 MB)")
        data = path.read_bytes()
    except OSError as exc:
        raise AudioficError(f"{path}: cannot read it ({exc.strerror})") from None
    if not data.strip():
        raise AudioficError(f"{path}: the file is empty")
    return data


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if "\x00" in sample:
        return True
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v")
    return controls > len(sample) * 0.01


def normalise_newlines(text: str) -> str:
    """CRLF → " \\n" and lone CR → LF: same length, so offsets stay true to the file."""
    return text.replace("\r\n", " \n").replace("\r", "\n")


def ingest(path: Path, title: str | None = None, author: str | None = None, notes: str = "skip") -> Work:
    """Read a file, whatever it is by content (plain text, Markdown, HTML, EPUB), into a Work."""
    from .epub import is_epub, read_epub
    from .webfic import build_work, generic_html_text, looks_like_html, read_html

    path = Path(path)
    fallback = _title_from_filename(path)
    with open(path, "rb") if path.is_file() else _nothing() as fh:
        head = fh.read(8) if fh else b""
    if is_epub(head):
        work = build_work(read_epub(path), fallback, notes)
    else:
        source = read_source(path)
        work = None
        if looks_like_html(source):
            raw = read_html(source)
            if raw is not None:
                work = build_work(raw, fallback, notes)
            else:
                text, page_title = generic_html_text(source)
                work = parse_text(text, fallback_title=page_title or fallback)
        if work is None:
            work = parse_text(source, fallback_title=fallback)
    work.title_from_file_name = work.title == fallback and not title
    if title:
        work.title = title
    if author:
        work.authors = [author]
    if not work.chapters:
        raise AudioficError(f"{path}: there is no speakable text in it")
    clean_metadata(work)
    return work


@contextlib.contextmanager
def _nothing():
    yield None


def _title_from_filename(path: Path) -> str:
    stem = os.fsencode(path.stem).decode("utf-8", "replace")  # a name that is not UTF-8 stays readable
    return re.sub(r"[_\s]+", " ", stem).strip() or "Untitled"


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def one_line(text: str | None) -> str | None:
    """A title or tag: no control characters (a feed cannot carry them), one line."""
    if text is None:
        return None
    return re.sub(r"\s+", " ", _CONTROLS.sub(" ", unicodedata.normalize("NFC", text))).strip()


def no_controls(text: str | None) -> str | None:
    return None if text is None else _CONTROLS.sub(" ", text)


def clean_metadata(work: Work) -> None:
    """Everything that reaches tags, file names and the feed, free of control characters."""
    work.title = one_line(work.title) or "Untitled"
    work.authors = [a for a in map(one_line, work.authors) if a]
    for name in ("fandoms", "warnings", "categories", "relationships", "characters", "tags"):
        setattr(work, name, [v for v in map(one_line, getattr(work, name)) if v])
    for name in ("rating", "series", "url", "published", "updated"):
        setattr(work, name, one_line(getattr(work, name)))
    for name in ("summary", "work_notes", "end_notes"):
        setattr(work, name, no_controls(getattr(work, name)))
    for chapter in work.chapters:
        chapter.title = one_line(chapter.title) or f"Chapter {chapter.number}"
        chapter.summary, chapter.notes, chapter.end_notes = map(no_controls, (chapter.summary, chapter.notes,
                                                                            chapter.end_notes))


def parse_text(source: str, fallback_title: str = "Untitled") -> Work:
    """Plain text → Work: header block as metadata, headings as chapter breaks."""
    metadata, title, body_start = parse_header(source)
    title = metadata.get("title") or title or fallback_title
    authors = _split_authors(metadata.get("author") or metadata.get("authors") or metadata.get("by"))
    summary = metadata.get("summary") or metadata.get("sumary") or metadata.get("summery")
    chapters = split_chapters(source, body_start, title)
    work = Work(
        title=title,
        authors=authors,
        chapters=chapters,
        source=source,
        summary=summary,
        metadata=metadata,
    )
    work.rating = metadata.get("rating") or metadata.get("rated")
    if metadata.get("series"):
        work.series, work.series_part = series_and_part(metadata["series"])
    for key, field_name in (("fandom", "fandoms"), ("fandoms", "fandoms"), ("characters", "characters"),
                            ("pairing", "relationships"), ("pairings", "relationships"),
                            ("relationships", "relationships"), ("warnings", "warnings"), ("genre", "tags"),
                            ("tags", "tags")):
        if metadata.get(key):
            getattr(work, field_name).extend(v.strip() for v in re.split(r"\s*[,;]\s*", metadata[key]) if v.strip())
    return work


def series_and_part(value: str) -> tuple[str, int | None]:
    """"Part 2 of Harbour Tales", "Harbour Tales, part 2", "Harbour Tales #2", or a bare name."""
    for pattern in (r"(?i)part\s+(?P<part>\d+)\s+of\s+(?:the\s+)?(?P<name>.+)",
                    r"(?i)(?P<name>.+?)[\s,;:(-]+(?:part|book|#|no\.?)\s*(?P<part>\d+)\)?"):
        m = re.fullmatch(pattern, value.strip())
        if m:
            return m.group("name").strip(" ,;:-"), int(m.group("part"))
    return value.strip(), None


def _split_authors(value: str | None) -> list[str]:
    if not value:
        return []
    return [a.strip() for a in re.split(r"\s*(?:,|&|\band\b)\s*", value) if a.strip()]


def _paragraphs(source: str, start: int = 0):
    """Yield (start, end) of blank-line separated blocks from `start` on."""
    for m in re.finditer(r"[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*", source[start:]):
        yield start + m.start(), start + m.end()


def _header_key(line: str) -> tuple[str, str] | None:
    m = _KEY_LINE.match(line)
    if not m:
        return None
    key = re.sub(r"[`’]", "'", m.group(1)).strip().lower()
    if key in HEADER_KEYS:
        return key, m.group(2)
    return None


def parse_header(source: str) -> tuple[dict[str, str], str | None, int]:
    """Find a leading block of `Key: value` lines; return (metadata, bare title, body start).

    A first short line without a key ("In Bits and Pieces") counts as the title when
    key lines follow it. Lines under a key that are not keys continue its value.
    """
    metadata: dict[str, str] = {}
    title = None
    body_start = 0
    paragraphs = list(_paragraphs(source))
    for i, (start, end) in enumerate(paragraphs[:60]):
        lines = source[start:end].split("\n")
        if _header_key(lines[0]) is None:
            is_bare_title = (
                i == 0
                and len(lines) == 1
                and len(lines[0].strip()) <= 120
                and heading_title(lines[0]) is None
                and not re.search(r"[.?!\"”]\s*$", lines[0])
                and len(paragraphs) > 1
                and _header_key(source[paragraphs[1][0]:paragraphs[1][1]].split("\n")[0])
            )
            if is_bare_title:
                title = lines[0].strip()
                body_start = end
                continue
            break
        key = None
        for line in lines:
            found = _header_key(line)
            if found:
                key, value = found
                metadata[key] = value.strip()
            elif key:
                metadata[key] = (metadata[key] + " " + line.strip()).strip()
        body_start = end
    metadata = {k: v for k, v in metadata.items() if v}
    if not metadata and title is None and (byline := _title_and_byline(source, paragraphs)):
        title, metadata["author"], body_start = byline
    return metadata, title, body_start


_BYLINE = re.compile(r"^\s*(?:written\s+)?by\s*:?\s+(\S.*?)\s*$", re.I)
_NOT_A_NAME = {"the", "a", "an", "this", "that", "then", "now", "noon", "night", "morning", "evening", "dawn", "day",
               "midnight", "nightfall", "sunset", "sunrise", "far", "now,", "then,"}


def _title_and_byline(source: str, paragraphs: list[tuple[int, int]]) -> tuple[str, str, int] | None:
    """A work that opens with its title and a byline, as fans paste them ("The Long Way Home",
    then "by quillfeather"): on two lines, or in two short paragraphs."""
    if len(paragraphs) < 2:
        return None
    first = source[paragraphs[0][0]:paragraphs[0][1]].split("\n")
    candidates = []
    if len(first) == 2:
        candidates.append((first[0], first[1], paragraphs[0][1]))
    elif len(first) == 1 and len(paragraphs) > 2:
        second = source[paragraphs[1][0]:paragraphs[1][1]].split("\n")
        if len(second) == 1:
            candidates.append((first[0], second[0], paragraphs[1][1]))
    for title, byline, end in candidates:
        m = _BYLINE.match(byline)
        author = m.group(1) if m else ""
        words = author.split()
        if (m and _looks_like_title(title) and 1 <= len(words) <= 4 and words[0].lower() not in _NOT_A_NAME
                and not re.search(r"[,;!?\"“”]|[.:]$", author)):
            return title.strip(), author, end
    return None


def _looks_like_title(line: str) -> bool:
    line = line.strip()
    return (0 < len(line) <= 120 and heading_title(line) is None and _header_key(line) is None
            and not re.search(r"[.?!,;\"”]\s*$", line))


def heading_title(line: str) -> str | None:
    """The display title of a chapter heading line, or None if the line is not one."""
    stripped = line.strip()
    if not stripped or len(stripped) > 120:
        return None
    m = _HEADING_MARKDOWN.match(stripped)
    if m:
        return m.group("title").strip()
    m = _HEADING_NUMBERED.match(stripped)
    if m:
        kind = m.group("kind").rstrip(".")
        kind = "Chapter" if kind.lower() == "ch" else kind
        label = f"{_capitalise(kind)} {_tidy_number(m.group('num'))}"
        rest = (m.group("title") or "").strip()
        return f"{label}: {rest}" if rest else label
    m = _HEADING_NAMED.match(stripped)
    if m:
        label = _capitalise(m.group("kind"))
        rest = (m.group("title") or "").strip()
        return f"{label}: {rest}" if rest else label
    return None


def _capitalise(word: str) -> str:
    return word[:1].upper() + word[1:].lower() if word.isupper() or word.islower() else word


def _tidy_number(num: str) -> str:
    if re.fullmatch(r"[ivxlcdm]+", num, re.IGNORECASE):
        return num.upper()
    return _capitalise(num) if num.isalpha() else num


def split_chapters(source: str, body_start: int, work_title: str) -> list[Chapter]:
    """Cut the body at heading lines. Text before the first heading is its own chapter."""
    headings = []
    for m in re.finditer(r"[^\n]+", source[body_start:]):
        title = heading_title(m.group())
        if title is not None:
            s, e = body_start + m.start(), body_start + m.end()
            headings.append((s, e, title))
    chapters: list[Chapter] = []
    bounds = [(body_start, None, None, work_title)]
    bounds += [(e, s, e, title) for s, e, title in headings]
    ends = [s for s, _, _ in headings] + [len(source)]
    for (start, h_start, h_end, title), end in zip(bounds, ends):
        text = source[start:end]
        if h_start is None and not re.search(r"\w", text):
            continue  # no untitled opening
        if h_start is not None and not re.search(r"\w", text) and not re.search(r"\w", title):
            continue
        chapters.append(
            Chapter(
                number=len(chapters) + 1,
                title=title,
                text=text,
                offset=start,
                heading_start=h_start,
                heading_end=h_end,
            )
        )
    return chapters
