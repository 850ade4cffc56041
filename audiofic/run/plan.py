"""The plan: the pure part of a render. Text stages only (ingest → segment → find the cast →
attribute → cast voices),
no audio: who reads each segment, in which voice, under which cache key, into which file.

`prepare` is the one road from a file and the user's options to a planned work; `render`,
`script` and `cast` all take it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..sound.assemble import NOISE_AMPLITUDE
from ..casting.cast import (Casting, cast_work, described_speakers, find_cast, listened_for, narrator_for,
                            voice_for)
from ..casting.config import Config, character_label, load_layers, series_cast
from ..engines import get_engine
from ..errors import AudioficError
from ..publish.formats import FORMATS
from ..read.ingest import ingest
from ..story.attribute import attribute
from ..sound.levels import Loudness, output_chain
from ..model import Chapter, Segment, Voice, Work
from ..story.segment import detect_quote_style, segment_chapter
from ..story.spoken import spoken_form
from .state import previous_folder, work_dir
from ..publish.library import choose_layout, work_folders
from ..sound.synthesize import cache_key
from ..publish.tag import Tags, chapter_filename, slugify

UNKNOWN_AUTHOR = "Unknown author"  # players show an empty artist as a blank row


@dataclass(frozen=True)
class Options:
    """What the user asked for, as one value from the command line to the stages."""

    output: Path = Path("output")
    voices: Path | None = None
    chapters: tuple[str, ...] = ()
    jobs: int | None = None
    force: bool = False
    cache: Path | None = None
    title: str | None = None
    author: str | None = None
    notes: str = "skip"
    read_summary: bool = True
    formats: tuple[str, ...] = ("mp3",)
    cover: Path | None = None
    loudness: str = "audiobook"
    base_url: str | None = None
    cast_from: Path | None = None  # a cast file whose characters keep their voices here (a series)
    recast: bool = False  # cast everyone again from today's voices, setting aside the cast file's
    layout: str | None = None  # "folders" or "audiobookshelf"; None: what the output folder records
    captions: bool = False  # read-along files beside each chapter: WebVTT, SRT, JSON chapters
    epub: bool = False  # --format epub3: the work as an EPUB 3 that plays along (needs the MP3s)


@dataclass
class PlannedSegment:
    segment: Segment
    reader: str  # "narrator", "dialogue" or a character's name
    voice: Voice
    speech: str
    key: str


@dataclass
class ChapterPlan:
    chapter: Chapter
    segments: list[PlannedSegment]
    filenames: dict[str, str]  # format → file name, for the one-file-per-chapter formats
    tags: Tags
    pause_ms: list[int]
    head_ms: int
    tail_ms: int
    gains: list[float] = field(default_factory=list)  # per segment: its voice's level gain
    level_gain: float = 0.0  # dB into the peak limiter, from the narrator's calibration
    loudness: Loudness | None = None  # the target; each file is measured and trimmed to it

    def chain(self, fmt: str, trim_db: float | None = None) -> str:
        return output_chain(self.level_gain, self.loudness, fmt, trim_db)

    @property
    def filename(self) -> str:
        return next(iter(self.filenames.values()), "")

    @property
    def audio_hash(self) -> str:
        """Everything that changes the audio of this chapter's files, and nothing else."""
        return self.hash_for(sorted(self.filenames))

    def hash_for(self, formats) -> str:
        blob = json.dumps(
            [[p.key for p in self.segments], self.pause_ms, self.head_ms, self.tail_ms, self.gains,
             {fmt: self.chain(fmt) for fmt in formats},
             {fmt: FORMATS[fmt].encoder_args() for fmt in formats}, NOISE_AMPLITUDE],
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:40]


@dataclass
class Plan:
    work: Work
    slug: str
    config: Config
    chapters: list[ChapterPlan]


@dataclass
class Prepared:
    work: Work
    out_dir: Path
    config: Config
    casting: Casting
    plan: Plan
    selected: set[int] | None  # chapter numbers, or None for all
    layout: str = "folders"
    moved_from: Path | None = None  # the work's folder before its title or series changed


def prepare(path: Path, options: Options, find_new: bool = False, check_voices: bool = True) -> Prepared:
    """Read, segment, attribute, cast and plan a work as the options say."""
    work = load_work(path, options.title, options.author, options.notes, options.read_summary)
    layout = choose_layout(options.output, options.layout)
    out_dir = work_dir(options.output, work, layout)
    moved_from = previous_folder(options.output, work, out_dir)
    config, user_cast = load_layers(moved_from or out_dir, options.voices, work.language, work.fandoms,
                                    options.recast)
    cast = find_cast(work, config, user_cast, find_new)
    cast = dataclasses.replace(cast, characters=listened_for(work, cast))  # and the cast file keeps them
    attribution = attribute(work, cast.characters, config.narrator_character, config.overrides)
    described = described_speakers(attribution.described, cast)  # "the drunken buffoon", heard often
    work = attribution.apply(work, voiced={c.name for c in cast.characters + described})
    others = [f / "voices.toml" for f in work_folders(options.output) if f not in (out_dir, moved_from)]
    series = series_cast(others, work.series, options.cast_from)
    config = narrator_for(config, next((c for c in cast.characters if c.name == attribution.narrator), None))
    casting = cast_work(work, cast, attribution.narrator, config, series, described, options.recast)
    the_plan = plan(work, config, casting, check_voices, options.formats)
    selected = parse_chapter_selection(options.chapters, len(the_plan.chapters))
    return Prepared(work, out_dir, config, casting, the_plan, selected, layout, moved_from)


def heading_text(work: Work, chapter: Chapter, read_summary: bool = True) -> str:
    """Chapter 1 opens with the work's title, author and summary, as an audiobook does; a title
    that only came from the file name is not read out (the first chapter's title is)."""
    if chapter.number != 1:
        return chapter.title
    parts = [] if work.title_from_file_name else [work.title]
    if work.authors:
        parts.append(f"By {work.author}")
    if read_summary and work.summary:
        parts += ["Summary", work.summary.strip()]
    if chapter.title and chapter.title != work.title:
        parts.append(chapter.title)
    return " ".join(_sentence(p) for p in parts if p.strip())


def _sentence(text: str) -> str:
    """One full stop at the end, never two ("By Aileen E." stays as it is)."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def load_work(path: Path, title: str | None = None, author: str | None = None, notes: str = "skip",
              read_summary: bool = True) -> Work:
    work = ingest(Path(path), title=title, author=author, notes=notes)
    style = detect_quote_style(work.source)
    for chapter in work.chapters:
        chapter.segments = segment_chapter(chapter, heading_text(work, chapter, read_summary), style)
    if not any(s.kind != "heading" for c in work.chapters for s in c.segments):
        raise AudioficError(f"{path}: there is no speakable text in it")
    return work


def plan(work: Work, config: Config, casting: Casting | None = None, check_voices: bool = True,
         formats: tuple[str, ...] = ("mp3",)) -> Plan:
    """Who reads what, in which voice, under which cache key."""
    pauses = config.pauses
    versions: dict[tuple[str, str], str] = {}
    checked: set[tuple[str, str]] = set()
    total = len(work.chapters)
    chapters = []
    for chapter in work.chapters:
        planned = []
        for seg in chapter.segments:
            reader, voice = voice_for(seg, config, casting.entries if casting else None)
            engine = get_engine(voice.engine)
            if check_voices and (voice.engine, voice.voice) not in checked:
                _check_voice(engine, voice, reader, config)
                checked.add((voice.engine, voice.voice))
            if (voice.engine, voice.voice) not in versions:
                versions[voice.engine, voice.voice] = engine.version(voice.voice)
            version = versions[voice.engine, voice.voice]
            speech = spoken_form(seg.text, config.speech)
            planned.append(PlannedSegment(seg, reader, voice, speech, cache_key(speech, voice, version)))
        tags = Tags(
            title=chapter.title,
            album=work.title,
            author=work.author or UNKNOWN_AUTHOR,
            track=chapter.number,
            total=total,
            summary=work.summary,
            extra=work_tags(work),
            year=(work.published or "")[:4] or None,
        )
        chapters.append(
            ChapterPlan(
                chapter=chapter,
                segments=planned,
                filenames={fmt: chapter_filename(chapter.number, total, chapter.title, FORMATS[fmt].extension)
                           for fmt in formats if FORMATS[fmt].per_chapter},
                tags=tags,
                pause_ms=[pauses.after(p.segment.pause_after) for p in planned],
                head_ms=pauses.head,
                tail_ms=pauses.tail,
            )
        )
    return Plan(work=work, slug=slugify(work.title), config=config, chapters=chapters)


def _check_voice(engine, voice: Voice, reader: str, config: Config) -> None:
    """An unknown voice is named with the table and the file that chose it."""
    try:
        engine.check_voice(voice.voice)
    except AudioficError as exc:
        label = f"[{reader}]" if reader in ("narrator", "dialogue") else character_label(reader)
        if reader == "thought":
            label = "[narrator]"
        where = config.origins.get(label)
        raise AudioficError(f"{where + ': ' if where else ''}{label} {exc}") from None


def work_tags(work: Work) -> dict[str, str]:
    """What a fan looks for besides title and author, as TXXX frames (TCON stays Audiobook)."""
    extra = {
        "FANDOM": "; ".join(work.fandoms), "RATING": work.rating or "", "WARNINGS": "; ".join(work.warnings),
        "CATEGORY": "; ".join(work.categories), "RELATIONSHIPS": "; ".join(work.relationships),
        "CHARACTERS": "; ".join(work.characters), "TAGS": "; ".join(work.tags),
        "SERIES": f"{work.series} #{work.series_part}" if work.series and work.series_part else (work.series or ""),
        "URL": work.url or "", "LANGUAGE": work.language if work.language != "en" else "",
    }
    return {k: v for k, v in extra.items() if v}


def parse_chapter_selection(values: tuple[str, ...] | list[str], total: int) -> set[int] | None:
    """`--chapter 3 --chapter 5-7` → {3, 5, 6, 7}; None when nothing is selected."""
    if not values:
        return None
    chosen: set[int] = set()
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            try:
                if "-" in part:
                    a, b = (int(x) for x in part.split("-", 1))
                else:
                    a = b = int(part)
            except ValueError:
                raise AudioficError(f"--chapter {value!r}: expected a number or a range like 3-5") from None
            if a < 1 or b > total or a > b:
                raise AudioficError(f"--chapter {value!r}: this work has chapters 1-{total}")
            chosen.update(range(a, b + 1))
    return chosen
