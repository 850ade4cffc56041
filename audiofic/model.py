"""The plain data that flows through the pipeline: Work → Chapter → Segment."""

from __future__ import annotations

from dataclasses import dataclass, field

HEADING, NARRATION, DIALOGUE = "heading", "narration", "dialogue"


@dataclass
class Segment:
    kind: str
    text: str  # exactly source[start:end], or generated text for a heading
    start: int
    end: int
    pause_after: str = "none"  # a key of the [pauses] table, or "none"
    speaker: str | None = None
    rule: str | None = None  # which attribution rule decided the speaker
    paragraph: int = 0  # index of the paragraph inside its chapter


@dataclass
class Chapter:
    number: int
    title: str
    text: str  # the chapter body as it appears in the source
    offset: int  # where `text` starts in the decoded source
    heading_start: int | None = None  # span of the heading line, if any
    heading_end: int | None = None
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Work:
    title: str
    authors: list[str]
    chapters: list[Chapter]
    source: str  # the decoded input file, for offsets
    summary: str | None = None
    language: str = "en"
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def author(self) -> str:
        return ", ".join(self.authors)
