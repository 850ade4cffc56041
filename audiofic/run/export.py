"""The work as audiofic understood it, as text to read before a long render: its chapters,
paragraphs, scene breaks and who says each line (plain text or Markdown)."""

from __future__ import annotations

from ..casting.config import ROLES  # readers that are no one in particular
from ..model import DIALOGUE, HEADING
from .plan import ChapterPlan, Prepared


def _said(reader: str, text: str, markdown: bool) -> str:
    who = "someone" if reader in ROLES else reader
    return f"**{_md(who)}:** “{_md(text)}”" if markdown else f"[{who}] “{text}”"


def _md(text: str) -> str:
    """Markdown's own marks in the story stay the story's."""
    return "".join("\\" + c if c in "\\`*_[]<>#|" else c for c in text)


def chapter_text(cp: ChapterPlan, markdown: bool) -> list[str]:
    title = f"{cp.chapter.number}. {cp.chapter.title}"
    lines = [f"## {_md(title)}" if markdown else f"{title}\n{'=' * len(title)}", ""]
    paragraph, current = [], None
    for p in cp.segments:
        seg = p.segment
        if seg.kind == HEADING:
            continue
        if current is not None and seg.paragraph != current and paragraph:
            lines += [" ".join(paragraph), ""]
            paragraph = []
        current = seg.paragraph
        paragraph.append(_said(p.reader, seg.text, markdown) if seg.kind == DIALOGUE
                         else (_md(seg.text) if markdown else seg.text))
        if seg.pause_after == "scene":
            lines += [" ".join(paragraph), "", "* * *", ""]
            paragraph = []
    if paragraph:
        lines += [" ".join(paragraph), ""]
    return lines


def work_text(ready: Prepared, markdown: bool = False) -> str:
    work = ready.work
    by = ", ".join(work.authors) or "Unknown author"
    lines = [f"# {_md(work.title)}" if markdown else work.title, "", f"by {_md(by) if markdown else by}", ""]
    if work.summary:
        lines += [_md(work.summary) if markdown else work.summary, ""]
    for cp in ready.plan.chapters:
        if ready.selected is None or cp.chapter.number in ready.selected:
            lines += chapter_text(cp, markdown)
    return "\n".join(lines).rstrip() + "\n"
