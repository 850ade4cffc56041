"""Segment: a chapter becomes an ordered list of heading, narration and dialogue segments.

Pure text work. Every segment's text is an exact slice of the source (quote marks left out),
so nothing is ever rewritten here; spoken.spoken_form() makes the spoken form later. The only
text that belongs to no segment is quote marks, whitespace, wordless punctuation and
scene-break lines, which become pauses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..model import DIALOGUE, HEADING, NARRATION, Chapter, Segment

MAX_SEGMENT_CHARS = 600  # longer pieces are cut at sentence ends: pyttsx3 slows on long text
HARD_SPLIT_CHARS = 1500  # a "sentence" longer than this is cut at a comma or a space

DOUBLE_OPEN = "“„‟«"
DOUBLE_CLOSE = "”»"
DOUBLE_ANY = '"' + DOUBLE_OPEN + DOUBLE_CLOSE
SINGLE_MARKS = "'‘’`"

# Words that start with an apostrophe and are not quotations.
ELISIONS = {
    "em", "cause", "cos", "coz", "cuz", "til", "till", "tis", "twas", "twere", "round", "bout",
    "n", "ere", "kay", "ello", "im", "er", "ow", "ave", "appen", "ad", "alf", "ome", "e", "ead",
    "nother", "sup", "fraid", "spose", "specially", "scuse", "nuff", "neath", "mongst", "gainst",
    "cept", "course", "less", "fore", "gin", "ya", "y", "t", "s", "d", "ll", "re", "ve", "m",
}

_WORD = re.compile(r"[^\W_]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’')\]]*\s+(?=[\"“‘'(\[]?[A-Z0-9])")
_SOFT_BREAK = re.compile(r"(?<=[,;:—–])\s+")


def has_words(text: str) -> bool:
    return bool(_WORD.search(text))


def is_scene_break(paragraph: str) -> bool:
    """`***`, `~*~`, `xXx`, `-----`, `o0o`: a line that marks a scene change, not speech."""
    s = paragraph.strip()
    if not s:
        return False
    if not has_words(s):
        return True
    if len(s) >= 3 and re.fullmatch(r"[\sxX*~\-=_.+•·oO0#]+", s):
        letters = re.sub(r"[^xXoO0]", "", s)
        return len(set(letters)) > 1 or len(letters) >= 3 or len(s) > len(letters)
    return False


def paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: blank-line separated blocks, or one per line.

    A block whose lines are hard-wrapped prose (most lines do not end a sentence) is one
    paragraph; a block of lines that each end a sentence is one paragraph per line.
    """
    spans = []
    blocks = _blocks(text)
    lines = [len(line) for line in text.split("\n") if line.strip()]
    # A text hard-wrapped at a fixed width, with blank lines between paragraphs (Project
    # Gutenberg style): every block is one paragraph, whatever its lines end with.
    wrapped = bool(lines) and max(lines) <= 100 and len(lines) >= 1.5 * len(blocks) >= 3
    for block in blocks:
        if wrapped:
            spans.append(block)
            continue
        lines = [(block[0] + m.start(), block[0] + m.end()) for m in re.finditer(r"[^\n]*\S[^\n]*", text[block[0]:block[1]])]
        if len(lines) > 1 and _hard_wrapped([text[s:e] for s, e in lines]):
            spans.append(block)
        else:
            spans.extend(lines)
    return [_strip_span(text, s, e) for s, e in spans]


def _blocks(text: str) -> list[tuple[int, int]]:
    """Blank-line separated blocks, with scene-break lines always a block of their own."""
    blocks = []
    for block in re.finditer(r"[^\n]*\S[^\n]*(?:\n[^\n]*\S[^\n]*)*", text):
        start = block.start()
        for line in re.finditer(r"[^\n]+", block.group()):
            if is_scene_break(line.group()):
                a, b = block.start() + line.start(), block.start() + line.end()
                if start < a:
                    blocks.append((start, a))
                blocks.append((a, b))
                start = b
        if start < block.end():
            blocks.append((start, block.end()))
    return blocks


def _hard_wrapped(lines: list[str]) -> bool:
    body = [line.rstrip() for line in lines[:-1]]
    if max(len(line) for line in lines) > 100:
        return False
    ended = sum(1 for line in body if re.search(r"[.!?\"”’'…:]$", line))
    return ended < len(body) / 2


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def detect_quote_style(text: str) -> str:
    """'double' for “…”/"…"/«…» dialogue, 'single' for British ‘…’ dialogue."""
    doubles = sum(text.count(c) for c in DOUBLE_ANY) + text.count("``")
    singles = 0
    for m in re.finditer(r"(?:^|(?<=[\s(\[—–]))['‘](\w+)", text):
        if m.group(1).lower() not in ELISIONS and not m.group(1).isdigit():
            singles += 1
    return "single" if singles >= 4 and singles > 2 * doubles else "double"


@dataclass
class _Quote:
    start: int  # first character inside the marks
    end: int  # first mark after the content (or paragraph end when left open)
    continues: bool  # carries on a quotation left open at the end of the last paragraph


def find_quotes(para: str, style: str, carried_open: bool) -> tuple[list[_Quote], bool]:
    """Quotations in one paragraph, and whether the last one is still open at its end."""
    marks = _double_marks(para) if style == "double" else _single_marks(para)
    quotes: list[_Quote] = []
    open_at = None
    continues = False
    for pos, length, role in marks:
        if open_at is None:
            if role in ("open", "toggle"):
                open_at = pos + length
                continues = carried_open and not quotes and not para[:pos].strip()
        elif role in ("close", "toggle"):
            quotes.append(_Quote(open_at, pos, continues))
            open_at = None
    if open_at is not None:
        quotes.append(_Quote(open_at, len(para), continues))
        return quotes, True
    return quotes, False


def _double_marks(para: str) -> list[tuple[int, int, str]]:
    marks = []
    i = 0
    while i < len(para):
        c = para[i]
        if para.startswith("``", i):
            marks.append((i, 2, "open"))
            i += 2
            continue
        if para.startswith("''", i) and marks and marks[-1][2] == "open":
            marks.append((i, 2, "close"))
            i += 2
            continue
        if c == '"':
            marks.append((i, 1, "toggle"))
        elif c in DOUBLE_OPEN or c in DOUBLE_CLOSE:
            marks.append((i, 1, "toggle"))
        i += 1
    return marks


def _single_marks(para: str) -> list[tuple[int, int, str]]:
    marks = []
    is_open = False
    for i, c in enumerate(para):
        if c not in SINGLE_MARKS:
            continue
        before = para[i - 1] if i > 0 else " "
        after = para[i + 1] if i + 1 < len(para) else " "
        if before.isalnum() and after.isalnum():
            continue  # it's, don't, Julia`s
        if not is_open:
            word = re.match(r"\w+", para[i + 1:])
            opens = (before.isspace() or before in "([—–-\"/") and not after.isspace()
            if opens and not (word and (word.group().lower() in ELISIONS or word.group().isdigit())):
                marks.append((i, 1, "open"))
                is_open = True
        else:
            closes = not before.isspace() and (after.isspace() or not after.isalnum())
            rest = para[i + 1:]
            possessive = before in "sS" and re.match(r"\s+[a-z]", rest)
            if closes and not possessive:
                marks.append((i, 1, "close"))
                is_open = False
    return marks


def _chunks(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Cut [start, end) at sentence ends into pieces of at most MAX_SEGMENT_CHARS or so."""
    if end - start <= MAX_SEGMENT_CHARS:
        return [(start, end)]
    cuts = [start + m.end() for m in _SENTENCE_END.finditer(text[start:end])]
    pieces, piece_start = [], start
    for i, cut in enumerate(cuts):
        nxt = cuts[i + 1] if i + 1 < len(cuts) else end
        if nxt - piece_start > MAX_SEGMENT_CHARS:
            pieces.append((piece_start, cut))
            piece_start = cut
    pieces.append((piece_start, end))
    result = []
    for s, e in pieces:
        result.extend(_hard_split(text, s, e))
    return result


def _hard_split(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Pieces of at most HARD_SPLIT_CHARS, cut at a comma or dash, else at a word boundary:
    a paragraph with no punctuation at all still becomes speakable pieces."""
    pieces = []
    while end - start > HARD_SPLIT_CHARS:
        window = text[start:start + HARD_SPLIT_CHARS]
        cut = None
        for m in _SOFT_BREAK.finditer(window):
            cut = m.end()
        if cut is None or cut < HARD_SPLIT_CHARS // 3:
            cut = window.rfind(" ") + 1 or HARD_SPLIT_CHARS
        pieces.append((start, start + cut))
        start += cut
    pieces.append((start, end))
    return pieces


def segment_chapter(chapter: Chapter, heading: str | None = None, style: str = "double") -> list[Segment]:
    """Split a chapter into segments, the spoken heading first (if given)."""
    segments: list[Segment] = []
    if heading and has_words(heading):
        h_start = chapter.heading_start if chapter.heading_start is not None else chapter.offset
        h_end = chapter.heading_end if chapter.heading_end is not None else chapter.offset
        segments.append(Segment(HEADING, heading, h_start, h_end, pause_after="heading"))
    text, base = chapter.text, chapter.offset
    carried_open = False
    spans = paragraphs(text)
    chats = chat_paragraphs([text[a:b] for a, b in spans])
    for p_index, (p_start, p_end) in enumerate(spans):
        para = text[p_start:p_end]
        if p_index in chats:
            if segments:
                segments[-1].pause_after = "turn" if segments[-1].pause_after == "none" else segments[-1].pause_after
            for sender, m_start, m_end in chats[p_index]:
                a, b = _strip_span(para, m_start, m_end)
                if has_words(para[a:b]):
                    segments.append(Segment(DIALOGUE, para[a:b], base + p_start + a, base + p_start + b,
                                            pause_after="turn", paragraph=p_index, speaker=sender, rule="chat",
                                            style="chat"))
            if segments:
                segments[-1].pause_after = "paragraph"
            carried_open = False
            continue
        if is_scene_break(para):
            if segments:
                segments[-1].pause_after = "scene"
            carried_open = False
            continue
        quotes, carried_open = find_quotes(para, style, carried_open)
        pieces: list[tuple[str, int, int, bool]] = []
        cursor = 0
        for q in quotes:
            pieces.append((NARRATION, cursor, q.start, False))
            pieces.append((DIALOGUE, q.start, q.end, q.continues))
            cursor = q.end
        pieces.append((NARRATION, cursor, len(para), False))
        pieces = [piece for kind, s, e, continues in pieces
                  for piece in (_thoughts(para, s, e) if kind == NARRATION else [(kind, s, e, continues)])]
        first_in_paragraph = len(segments)
        for kind, s, e, continues in pieces:
            manner = None
            if kind == THOUGHT:
                kind, manner = NARRATION, "thought"
            s, e = _trim_marks(para, s, e)
            if not has_words(para[s:e]):
                continue
            for c_start, c_end in _chunks(para, s, e):
                c_start, c_end = _strip_span(para, c_start, c_end)
                if not has_words(para[c_start:c_end]):
                    continue
                if len(segments) > first_in_paragraph:
                    prev = segments[-1]
                    prev.pause_after = "turn" if prev.kind != kind else "none"
                a, b = base + p_start + c_start, base + p_start + c_end
                segments.append(
                    Segment(kind, para[c_start:c_end], a, b, pause_after="paragraph", paragraph=p_index,
                            rule="continued" if continues else None, style=manner)
                )
                continues = False
    return segments


# A chat or text-message line: an optional timestamp ("[21:04]", "9:15 PM -"), a sender (a name of
# one or two words, or a handle such as @sunnyD) and a colon, then the message.
_CHAT_LINE = re.compile(
    r"[ \t]*(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?[ \t]*(?:[AaPp]\.?[Mm]\.?)?[\])]?[ \t]*[-–—]?[ \t]*)?"
    r"(@?[A-Za-z][\w.'’-]{0,24}(?:[ \t][A-Z][\w.'’-]{0,24})?)[ \t]*(?:\([^)\n]{0,20}\))?[ \t]*:[ \t]+(\S[^\n]*)")
_NOT_SENDERS = {"note", "notes", "a/n", "an", "summary", "warning", "warnings", "rating", "chapter", "author",
                "title", "fandom", "fandoms", "disclaimer", "edit", "update", "ps", "p.s", "tags", "pairing",
                "characters", "words", "series", "status", "beta", "prompt", "posted", "part"}


def chat_paragraphs(paras: list[str]) -> dict[int, list[tuple[str, int, int]]]:
    """Paragraphs that are chat or text-message logs: every line `Sender: message`, in a run of
    at least two messages from at least two senders (so "Note: …" is never taken for one).
    Gives each such paragraph's (sender, message start, message end)."""
    parsed: dict[int, list[tuple[str, int, int]]] = {}
    for i, para in enumerate(paras):
        lines = [m for m in re.finditer(r"[^\n]+", para) if m.group().strip()]
        found = [(_CHAT_LINE.fullmatch(line.group()), line.start()) for line in lines]
        if found and all(m and m.group(1).lower().rstrip(".") not in _NOT_SENDERS for m, _ in found):
            parsed[i] = [(m.group(1), at + m.start(2), at + m.end(2)) for m, at in found]
    chats: dict[int, list[tuple[str, int, int]]] = {}
    run: list[int] = []
    for i in range(len(paras) + 1):
        if i in parsed and (not run or run[-1] == i - 1):
            run.append(i)
            continue
        messages = [m for j in run for m in parsed[j]]
        if len(messages) >= 2 and len({sender for sender, _, _ in messages}) >= 2:
            chats.update({j: parsed[j] for j in run})
        run = [i] if i in parsed else []
    return chats


THOUGHT = "thought"
_THOUGHT = re.compile(r"(?<![\w*])([*_])(?=[^\s*_])([^*_\n]+?)(?<=[^\s*_])\1(?![\w*])")


def _thoughts(para: str, start: int, end: int) -> list[tuple[str, int, int, bool]]:
    """Narration with its *italic thoughts* (three words or more, marks included) cut out as
    pieces of their own; a word or two in asterisks is emphasis and stays in the narration."""
    pieces, cursor = [], start
    for m in _THOUGHT.finditer(para, start, end):
        if len(re.findall(r"\w+", m.group(2))) < 3:
            continue
        pieces.append((NARRATION, cursor, m.start(), False))
        pieces.append((THOUGHT, m.start(), m.end(), False))
        cursor = m.end()
    pieces.append((NARRATION, cursor, end, False))
    return pieces


def _trim_marks(para: str, start: int, end: int) -> tuple[int, int]:
    """Strip whitespace and stray quote marks from the edges of a piece."""
    marks = DOUBLE_ANY + SINGLE_MARKS
    while start < end and (para[start].isspace() or para[start] in marks):
        start += 1
    while end > start and (para[end - 1].isspace() or para[end - 1] in marks):
        end -= 1
    return start, end


