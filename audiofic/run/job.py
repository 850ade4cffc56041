"""One work's render as every step sees it (`Run`), what it reports at the end (`Report`) and
the progress record the command line shows while it runs (`Progress`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..publish.feed import local_url
from ..publish.tag import Cover
from .plan import ChapterPlan, Options, Prepared
from .state import Manifest


@dataclass
class Report:
    rendered: int = 0
    skipped: int = 0
    retagged: int = 0
    synthesized: int = 0
    cached: int = 0
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0
    out_dir: Path | None = None
    m4b: str | None = None  # "written" or "unchanged" when an M4B was asked for
    stale: list[int] = field(default_factory=list)  # chapters left out by --chapter that a change reached
    voices: str = ""  # who reads in which voice, for the user to see (casting.voices_summary)

    def line(self, timed: bool = True) -> str:
        return (
            f"chapters: {self.rendered} rendered, {self.skipped} skipped"
            + (f", {self.retagged} retagged" if self.retagged else "")
            + (f"; m4b {self.m4b}" if self.m4b else "")
            + f"; segments: {self.synthesized} synthesized, {self.cached} cached; "
            f"audio {format_duration(self.audio_seconds)}"
            + (f" in {self.wall_seconds:.1f} s ({speed(self.audio_seconds, self.wall_seconds)} real time)"
               if timed else "")
            + (f"; out of date now: chapter{'s' * (len(self.stale) > 1)} {', '.join(map(str, self.stale))} "
               "(render without --chapter to update)" if self.stale else "")
        )


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def speed(audio_seconds: float, wall_seconds: float) -> str:
    """"50x", or "0.4x" for a render slower than real time (never "0x")."""
    ratio = audio_seconds / wall_seconds if wall_seconds else 0.0
    return f"{ratio:.0f}x" if ratio >= 10 else f"{ratio:.1f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


@dataclass
class Run:
    """One work's render: what its steps share."""

    options: Options
    ready: Prepared
    cache: Path
    out_dir: Path
    manifest: Manifest
    report: Report
    cover: Cover
    identity: dict
    todo: list[ChapterPlan] = field(default_factory=list)  # chapters whose files are written again
    needed: list[ChapterPlan] = field(default_factory=list)  # chapters whose segments must be in the cache
    error: str | None = None  # why this work failed, when a shelf goes on without it

    @property
    def base_url(self) -> str:
        """Where the work's folder is served, for the feed's and the read-along files' links."""
        return self.options.base_url or local_url(self.options.output, self.out_dir)


@dataclass(frozen=True)
class Progress:
    """Where a render is: what the progress line shows."""

    started: float  # time.monotonic() when synthesis began
    works_total: int = 1
    works_done: int = 0
    chapters_total: int = 0
    chapters_done: int = 0
    segments_total: int = 0
    segments_done: int = 0


ProgressFn = Callable[[Progress], None]
