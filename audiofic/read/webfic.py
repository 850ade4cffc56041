"""Ingest for HTML (AO3's download layout, or any page) and the pieces EPUB reuses.

AO3's download: `div#preface` holds the tags (`dl.tags`), title, byline, summary and notes;
`div#chapters` holds per chapter `div.meta.group` (h2.heading, summary, notes), then
`div.userstuff` (the text), then an optional end-notes block; `div#afterword` holds the work's
end notes. Any other page falls back to its headings and paragraphs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .htmltext import Node, block_text, parse_html
from ..model import Chapter, Work

NOTES_POLICIES = ("skip", "read", "separate")


@dataclass
class RawChapter:
    title: str
    text: str
    summary: str | None = None
    notes: str | None = None
    end_notes: str | None = None


@dataclass
class RawWork:
    title: str = ""
    authors: list[str] = field(default_factory=list)
    chapters: list[RawChapter] = field(default_factory=list)
    summary: str | None = None
    work_notes: str | None = None
    end_notes: str | None = None
    meta: dict = field(default_factory=dict)


def looks_like_html(text: str) -> bool:
    head = text[:4000].lstrip().lower()
    return head.startswith(("<!doctype html", "<html", "<?xml")) or bool(
        re.search(r"<(html|body|p|div|h1|h2)[\s>]", head) and len(re.findall(r"</?\w+[^>]*>", head)) >= 5
    )


# ------------------------------------------------------------------------------ AO3 tags

_LIST_FIELDS = {
    "archive warning": "warnings", "archive warnings": "warnings", "category": "categories",
    "categories": "categories", "fandom": "fandoms", "fandoms": "fandoms", "relationship": "relationships",
    "relationships": "relationships", "character": "characters", "characters": "characters",
    "additional tags": "tags", "additional tag": "tags", "freeform": "tags", "tags": "tags",
}


def tag_values(dd: Node) -> list[str]:
    links = [a.plain() for a in dd.find_all("a")]
    if links:
        return [v for v in links if v]
    return [v.strip() for v in re.split(r",\s*", dd.plain()) if v.strip()]


def read_tag_list(dl: Node, meta: dict) -> None:
    """`dt`/`dd` pairs of AO3's `dl.tags` into meta (lists, rating, language, series, stats)."""
    label = None
    for child in dl.iter():
        if child is dl:
            continue
        if child.tag == "dt":
            label = child.plain().rstrip(":").strip().lower()
        elif child.tag == "dd" and label:
            apply_label(label, child.plain(), tag_values(child), meta)
            label = None


def apply_label(label: str, text: str, values: list[str], meta: dict) -> None:
    label = label.lower().rstrip(":").strip()
    if label in _LIST_FIELDS:
        meta.setdefault(_LIST_FIELDS[label], []).extend(values)
    elif label in ("rating", "rated"):
        meta["rating"] = values[0] if values else text
    elif label == "language":
        meta["language"] = text
    elif label == "series":
        m = re.search(r"Part\s+(\d+)\s+of\s+(.+)", text, re.I)
        if m:
            meta["series_part"], meta["series"] = int(m.group(1)), m.group(2).strip()
        else:
            meta["series"] = text
    elif label == "stats":
        read_stats(text, meta)
    elif label in ("published", "updated", "completed", "words", "chapters", "status"):
        read_stats(f"{label}: {text}", meta)
    elif label in ("summary", "description"):
        meta["summary"] = text
    elif label in ("author", "authors", "by"):
        meta["authors"] = values or [text]
    elif label == "title":
        meta["title"] = text


def read_stats(text: str, meta: dict) -> None:
    for key, value in re.findall(r"(Published|Updated|Completed|Words|Chapters|Status):\s*([^\s]+(?:\s*/\s*[^\s]+)?)",
                                 text, re.I):
        key = key.lower()
        if key in ("published", "updated"):
            meta[key] = value
        elif key == "completed":
            meta["updated"] = value
        elif key == "words":
            digits = re.sub(r"[^\d]", "", value)
            if digits:
                meta["words"] = int(digits)
        elif key == "chapters":
            m = re.match(r"(\d+)\s*/\s*(\d+|\?)", value)
            if m:
                meta["chapters_posted"] = int(m.group(1))
                meta["chapters_total"] = int(m.group(2)) if m.group(2).isdigit() else None
        elif key == "status":
            meta["status"] = value


# ------------------------------------------------------------------------------ AO3 HTML


def _labelled_blocks(container: Node) -> dict[str, str]:
    """AO3 writes "<p>Summary:</p><blockquote class=userstuff>…": label → text."""
    found = {}
    nodes = list(container.iter())
    for i, node in enumerate(nodes):
        if node.tag in ("p", "h3", "h4", "strong", "b") and len(node.plain()) < 40:
            label = node.plain().rstrip(":").strip().lower()
            if label in ("summary", "notes", "chapter summary", "chapter notes", "chapter end notes", "end notes",
                         "author's note", "author's notes"):
                for nxt in nodes[i + 1:]:
                    if nxt.tag == "blockquote" or "userstuff" in nxt.classes:
                        found.setdefault(label, block_text(nxt, emphasis=False))
                        break
    return found


def read_ao3_preface(preface: Node, raw: RawWork) -> None:
    """AO3's preface (the HTML download's div#preface, or the EPUB's preface page): tags,
    title, authors, work URL, summary and notes. What it lacks, `raw` keeps."""
    dl = preface.find("dl", cls="tags")
    if dl is not None:
        read_tag_list(dl, raw.meta)
    h1 = preface.find("h1")
    if h1 is not None:
        raw.title = h1.plain() or raw.title
    byline = preface.find(cls="byline")
    if byline is not None:
        raw.authors = [a.plain() for a in byline.find_all("a") if a.attrs.get("rel") == "author"] or \
            raw.authors or [re.sub(r"^by\s+", "", byline.plain(), flags=re.I)]
    message = preface.find("p", cls="message")
    if message is not None:
        for a in message.find_all("a"):
            if "/works/" in a.attrs.get("href", ""):
                raw.meta["url"] = a.attrs["href"]
                break
    blocks = _labelled_blocks(preface)
    raw.summary = blocks.get("summary") or raw.summary
    raw.work_notes = blocks.get("notes") or raw.work_notes


def read_ao3(root: Node) -> RawWork | None:
    chapters_div = root.find(id="chapters")
    preface = root.find(id="preface")
    if chapters_div is None or preface is None:
        return None
    raw = RawWork()
    read_ao3_preface(preface, raw)
    afterword = root.find(id="afterword")
    if afterword is not None:
        blocks = _labelled_blocks(afterword)
        raw.end_notes = blocks.get("end notes") or blocks.get("notes")

    current: RawChapter | None = None
    for child in chapters_div.element_children():
        if "meta" in child.classes and child.find("h2", cls="heading") is not None:
            current = RawChapter(title=child.find("h2", cls="heading").plain(), text="")
            labelled = _labelled_blocks(child)
            current.summary = labelled.get("summary") or labelled.get("chapter summary")
            current.notes = labelled.get("notes") or labelled.get("chapter notes")
            raw.chapters.append(current)
        elif "userstuff" in child.classes:
            for landmark in child.find_all(cls="landmark"):
                landmark.children = []
            if current is None:  # a one-chapter work: no div.meta.group
                current = RawChapter(title=raw.title, text="")
                raw.chapters.append(current)
            current.text = block_text(child)
        elif child.id.startswith("endnotes") or "endnotes" in child.classes:
            if current is not None:
                labelled = _labelled_blocks(child)
                current.end_notes = next(iter(labelled.values()), None) or block_text(child, emphasis=False)
    return raw


def read_html(text: str) -> RawWork | None:
    """AO3's layout when it is there; None for any other page (read as headings + paragraphs)."""
    return read_ao3(parse_html(text))


def generic_html_text(text: str) -> tuple[str, str | None]:
    """Any page as Markdown-like text (headings become `# …` lines) and its <title>."""
    root = parse_html(text)
    title_node = root.find("title")
    body = root.find("body") or root
    for level in ("h1", "h2", "h3"):
        for heading in body.find_all(level):
            heading.children = [f"\n\n# {heading.plain()}\n\n"]
            heading.tag = "div"
    return block_text(body), (title_node.plain() if title_node else None)


# ------------------------------------------------------------------------------ to a Work


def build_work(raw: RawWork, fallback_title: str, notes: str = "skip") -> Work:
    """Lay the chapters end to end as the work's text (offsets point into it) and apply the
    notes policy: skip them, read them inside the chapter, or give them tracks of their own."""
    parts: list[str] = []
    chapters: list[Chapter] = []
    offset = 0

    def add(title: str, text: str, kind: str = "chapter", source: RawChapter | None = None) -> None:
        nonlocal offset
        chapter = Chapter(number=len(chapters) + 1, title=title, text=text, offset=offset, kind=kind)
        if source is not None:
            chapter.summary, chapter.notes, chapter.end_notes = source.summary, source.notes, source.end_notes
        chapters.append(chapter)
        parts.append(text)
        offset += len(text) + 2

    title = raw.meta.get("title") or raw.title or fallback_title
    if notes == "separate" and raw.work_notes:
        add("Notes", f"Author's note.\n\n{raw.work_notes}", "notes")
    for i, ch in enumerate(raw.chapters):
        before, after = ch.notes, ch.end_notes
        if i == 0 and raw.work_notes and notes == "read":
            before = "\n\n".join(filter(None, [raw.work_notes, before]))
        if i == len(raw.chapters) - 1 and raw.end_notes and notes == "read":
            after = "\n\n".join(filter(None, [after, raw.end_notes]))
        text = ch.text
        if notes == "read":
            text = "\n\n".join(filter(None, [
                f"Author's note.\n\n{before}" if before else None, text,
                f"Author's end note.\n\n{after}" if after else None]))
        elif notes == "separate" and ch.notes:
            add(f"{ch.title} - Notes", f"Author's note.\n\n{ch.notes}", "notes")
        add(ch.title or title, text, source=ch)
        if notes == "separate" and ch.end_notes:
            add(f"{ch.title} - End Notes", f"Author's end note.\n\n{ch.end_notes}", "notes")
    if notes == "separate" and raw.end_notes:
        add("End Notes", f"Author's end note.\n\n{raw.end_notes}", "notes")
    meta = raw.meta
    work = Work(
        title=title,
        authors=meta.get("authors") or raw.authors,
        chapters=[c for c in chapters if re.search(r"\w", c.text) or re.search(r"\w", c.title)],
        source="\n\n".join(parts),
        summary=meta.get("summary") or raw.summary,
        work_notes=raw.work_notes,
        end_notes=raw.end_notes,
    )
    for key in ("fandoms", "warnings", "categories", "relationships", "characters", "tags"):
        setattr(work, key, list(dict.fromkeys(meta.get(key, []))))
    for key in ("rating", "series", "series_part", "published", "updated", "words", "chapters_total",
                "chapters_posted", "url"):
        if key in meta:
            setattr(work, key, meta[key])
    if meta.get("status", "").lower().startswith("complete") and work.chapters_posted is None:
        work.chapters_posted = work.chapters_total = len(raw.chapters)
    work.language = language_code(meta.get("language", "en"))
    return work


# AO3 shows a language by its own name; espeak-ng wants a code.
LANGUAGES = {
    "english": "en", "español": "es", "spanish": "es", "deutsch": "de", "german": "de", "français": "fr",
    "francais": "fr", "french": "fr", "italiano": "it", "italian": "it", "português": "pt",
    "português brasileiro": "pt-br", "português europeu": "pt", "portuguese": "pt", "русский": "ru",
    "russian": "ru", "polski": "pl", "polish": "pl", "nederlands": "nl", "dutch": "nl", "svenska": "sv",
    "dansk": "da", "norsk": "nb", "suomi": "fi", "čeština": "cs", "magyar": "hu", "română": "ro",
    "türkçe": "tr", "ελληνικά": "el", "українська": "uk", "中文-普通话 國語": "cmn", "中文": "cmn", "日本語": "ja",
    "한국어": "ko", "tiếng việt": "vi", "bahasa indonesia": "id", "català": "ca", "hrvatski": "hr",
    "עברית": "he", "العربية": "ar", "हिन्दी": "hi", "latina": "la", "esperanto": "eo", "euskara": "eu",
}


def language_code(value: str) -> str:
    value = (value or "en").strip()
    lowered = value.lower()
    if lowered in LANGUAGES:
        return LANGUAGES[lowered]
    if re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?", lowered):
        return lowered
    return "en"
