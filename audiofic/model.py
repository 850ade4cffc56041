"""The plain data that flows through the pipeline: Work → Chapter → Segment."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

HEADING, NARRATION, DIALOGUE = "heading", "narration", "dialogue"


@dataclass(frozen=True)
class Voice:
    """Everything that decides how an engine sounds; `voice` is an id the engine understands."""

    engine: str
    voice: str
    rate: float
    pitch: float
    volume: float

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class VoiceChoice:
    """A voice as far as a voices file gives it; the rest is filled in by casting."""

    engine: str | None = None
    voice: str | None = None
    rate: float | None = None
    pitch: float | None = None
    volume: float | None = None

    def given(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


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
    style: str | None = None  # "thought": *italic* narration of three words or more, read softer


@dataclass
class Chapter:
    number: int
    title: str
    text: str  # the chapter body as it appears in the source
    offset: int  # where `text` starts in the decoded source
    heading_start: int | None = None  # span of the heading line, if any
    heading_end: int | None = None
    segments: list[Segment] = field(default_factory=list)
    summary: str | None = None  # AO3 chapter summary, notes and end notes: kept apart from the text
    notes: str | None = None
    end_notes: str | None = None
    kind: str = "chapter"  # or "notes": a track of author's notes (--notes separate)


@dataclass
class Work:
    title: str
    authors: list[str]
    chapters: list[Chapter]
    source: str  # the decoded input file, for offsets
    summary: str | None = None
    language: str = "en"
    metadata: dict[str, str] = field(default_factory=dict)  # a text header's raw Key: value pairs
    fandoms: list[str] = field(default_factory=list)
    rating: str | None = None
    warnings: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    relationships: list[str] = field(default_factory=list)
    characters: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    series: str | None = None
    series_part: int | None = None
    published: str | None = None
    updated: str | None = None
    words: int | None = None
    chapters_total: int | None = None  # AO3's "Chapters: 3/?" → None; "3/5" → 5
    chapters_posted: int | None = None
    url: str | None = None
    work_notes: str | None = None
    end_notes: str | None = None
    title_from_file_name: bool = False  # no title inside the file: never announced aloud

    @property
    def complete(self) -> bool | None:
        if self.chapters_posted is None:
            return None
        return self.chapters_total is not None and self.chapters_posted >= self.chapters_total

    @property
    def author(self) -> str:
        return ", ".join(self.authors)
