"""Render: run the pipeline for a work and write one tagged file per chapter.

The text stages (ingest → segment → attribute → cast) make a plan; only chapters whose
plan changed since the last render are synthesized, assembled, encoded and tagged. Each
file is written under a temporary name and renamed, and the manifest that records what
went into it is rewritten atomically after every chapter, so a killed render resumes.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import multiprocessing
import os
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import assemble
from .attribute import attribute
from .cast import CastEntry, cast_voices, voice_for
from .characters import Character, characters_from_config, discover, infer_gender
from .config import Voice, load_config, overrides, pauses, read_layer, role_voice
from .engines import get_engine
from .errors import AudioficError
from .files import atomic_write, partial_name
from .ingest import ingest
from .model import Chapter, Segment, Work
from .segment import detect_quote_style, segment_chapter, speech_text
from .synthesize import SynthJob, cache_key, cache_path, init_worker, synthesize_job, wav_duration
from .covers import cover_id, generate_cover, load_cover
from .levels import Levels, Loudness, measure, output_chain, parse_loudness, trim
from .publish import Episode, m3u, write_feed
from .tag import Cover, Tags, chapter_filename, slugify, write_tags

MANIFEST_VERSION = 2
STATE_DIR = ".audiofic"
UNKNOWN_AUTHOR = "Unknown author"  # players show an empty artist as a blank row


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
             {fmt: assemble.encoder_args(fmt) for fmt in formats}, assemble.NOISE_AMPLITUDE],
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:40]


@dataclass
class Plan:
    work: Work
    slug: str
    config: dict
    chapters: list[ChapterPlan]


def heading_text(work: Work, chapter: Chapter, read_summary: bool = True) -> str:
    """Chapter 1 opens with the work's title, author and summary, as an audiobook does."""
    if chapter.number != 1:
        return chapter.title
    intro = f"{work.title}. By {work.author}." if work.authors else f"{work.title}."
    if read_summary and work.summary:
        intro += f" Summary. {work.summary.strip()}"
        intro += "" if intro.endswith((".", "!", "?")) else "."
    if chapter.title and chapter.title != work.title:
        intro += f" {chapter.title}."
    return intro


def load_work(path: Path, title: str | None = None, author: str | None = None, notes: str = "skip",
              read_summary: bool = True) -> Work:
    work = ingest(Path(path), title=title, author=author, notes=notes)
    style = detect_quote_style(work.source)
    for chapter in work.chapters:
        chapter.segments = segment_chapter(chapter, heading_text(work, chapter, read_summary), style)
    if not any(s.kind != "heading" for c in work.chapters for s in c.segments):
        raise AudioficError(f"{path}: there is no speakable text in it")
    return work


@dataclass
class Casting:
    characters: list[Character]
    narrator: str | None
    entries: dict[str, CastEntry]
    new: list[Character]  # found in the text but not in the cast file: `audiofic cast` lists them


def load_layers(out_dir: Path, voices: Path | None, language: str = "en") -> tuple[dict, list[str] | None]:
    """The merged configuration, and the cast names when --voices lists characters."""
    config = for_language(load_config(existing(out_dir / "voices.toml"), voices), language)
    user_cast = None
    if voices is not None:
        names = list((read_layer(voices).get("characters") or {}).keys())
        user_cast = names or None
    return config, user_cast


def for_language(config: dict, language: str) -> dict:
    """A work not in English is read by that language's voice where the engine has one and
    the voices files did not choose another."""
    if language.split("-")[0] == "en":
        return config
    defaults = load_config()
    config = dict(config)
    for role, variant in (("narrator", ""), ("dialogue", "+f3")):
        table = dict(config[role])
        if table["voice"] == defaults[role]["voice"]:
            voice = get_engine(table["engine"]).voice_for_language(language)
            if voice:
                table["voice"] = voice + variant
        config[role] = table
    return config


def cast_work(work: Work, config: dict, user_cast: list[str] | None = None, find_new: bool = False) -> Casting:
    """Who is in the work, who says each line, and in which voice."""
    characters = characters_from_config(config)
    if user_cast:
        characters = [c for c in characters if c.name in user_cast]
    new: list[Character] = []
    if find_new or not characters:
        body = "\n\n".join(chapter.text for chapter in work.chapters)
        discovered = discover(body)
        seeded = [] if characters else tagged_characters(work, body, discovered)
        known = {n for c in characters + seeded for n in c.names()}
        new = seeded + [found for found in discovered if not known & set(found.names())]
    if not characters:
        # First render: the cast is the work's character tags plus what discovery finds.
        # Afterwards the voices file is the cast, so a new chapter never re-attributes old
        # ones; newcomers are only reported.
        characters, new = new, []
    narrator = attribute(work, characters, config.get("narrator_character"), overrides(config))
    entries = cast_voices(work, characters, config, narrator)
    return Casting(characters, narrator, entries, new)


def tagged_characters(work: Work, body: str, discovered: list[Character]) -> list[Character]:
    """AO3 character tags seed the cast: "Spike (Buffy the Vampire Slayer)" is Spike, and
    "Ada" (a name discovery found) becomes an alias of the tagged "Ada Quill"."""
    found = {c.name: c for c in discovered}
    cast = []
    for tag in work.characters:
        name = re.sub(r"\s*\([^)]*\)\s*$", "", tag).strip()
        if not name or name in {c.name for c in cast}:
            continue
        parts = name.split()
        matches = [n for n in found if set(n.split()) <= set(parts)]
        gender = next((found[n].gender for n in matches if found[n].gender != "unknown"), infer_gender(name, body))
        aliases = set(matches) | {a for n in matches for a in found[n].aliases}
        cast.append(Character(name, sorted(aliases - {name}), gender))
    return cast


def write_cast_file(path: Path, work: Work, casting: Casting) -> None:
    """Record the cast and its voices in the work's voices.toml, so later renders keep them.
    Written once, on the first render; after that the file is the user's to edit."""
    if path.exists() or not (casting.characters or casting.narrator):
        return
    lines = [
        f"# The cast of {work.title!r}, written by audiofic's first render and read back by every",
        "# later one. Edit a voice to recast a character, move an alias to merge two, rename one;",
        "# `audiofic voices` lists the voices. Pin one line to a speaker under [overrides]:",
        '# "3:12" = "Name" (chapter 3, segment 12 as `audiofic script` numbers them).',
        "",
    ]
    if casting.narrator:
        lines += [f"narrator = {_toml_str(casting.narrator)}", ""]
    for character in sorted(casting.characters, key=lambda c: -casting.entries[c.name].lines):
        entry = casting.entries[character.name]
        lines += [
            f"[characters.{_toml_str(character.name)}]  # {entry.lines} lines, {entry.words} words",
            f"aliases = [{', '.join(_toml_str(a) for a in character.aliases)}]",
            f"gender = {_toml_str(character.gender)}",
            f"voice = {_toml_str(entry.voice.voice)}",
            f"pitch = {int(entry.voice.pitch)}",
            "",
        ]
    atomic_write(path, "\n".join(lines))


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def work_dir(output: Path, work: Work) -> Path:
    return Path(output) / slugify(work.title)


def plan(work: Work, config: dict, casting: Casting | None = None, check_voices: bool = True,
         formats: tuple[str, ...] = ("mp3",)) -> Plan:
    """The pure part of a render: who reads what, in which voice, under which cache key."""
    pause = pauses(config)
    versions: dict[str, str] = {}
    checked: set[str] = set()
    total = len(work.chapters)
    chapters = []
    for chapter in work.chapters:
        planned = []
        for seg in chapter.segments:
            reader, voice = voice_for(seg, config, casting.entries if casting else None)
            engine = get_engine(voice.engine)
            if check_voices and (voice.engine, voice.voice) not in checked:
                engine.check_voice(voice.voice)
                checked.add((voice.engine, voice.voice))
            version = versions.setdefault(voice.engine, engine.version())
            speech = speech_text(seg.text)
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
                filenames={fmt: chapter_filename(chapter.number, total, chapter.title, fmt)
                           for fmt in formats if fmt in ("mp3", "opus")},
                tags=tags,
                pause_ms=[pause.get(p.segment.pause_after, 0) for p in planned],
                head_ms=pause["head"],
                tail_ms=pause["tail"],
            )
        )
    return Plan(work=work, slug=slugify(work.title), config=config, chapters=chapters)


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


# ---------------------------------------------------------------- side effects start here


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

    def line(self) -> str:
        speed = self.audio_seconds / self.wall_seconds if self.wall_seconds else 0.0
        return (
            f"chapters: {self.rendered} rendered, {self.skipped} skipped"
            + (f", {self.retagged} retagged" if self.retagged else "")
            + (f"; m4b {self.m4b}" if self.m4b else "")
            + f"; segments: {self.synthesized} synthesized, {self.cached} cached; "
            f"audio {format_duration(self.audio_seconds)} in {self.wall_seconds:.1f} s "
            f"({speed:.0f}x real time)"
        )


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Manifest:
    """What went into each rendered chapter: output/<work>/.audiofic/manifest.json."""

    def __init__(self, path: Path):
        self.path = path
        self.chapters: dict[str, dict] = {}
        self.first: str | None = None
        self._lock = threading.Lock()
        if path.exists():
            try:
                data = json.loads(path.read_text("utf-8"))
                if data.get("version") == MANIFEST_VERSION:
                    self.chapters = data.get("chapters", {})
                    self.first = data.get("first_render")
            except (OSError, ValueError):
                self.chapters = {}

    def get(self, number: int | str) -> dict | None:
        return self.chapters.get(str(number))

    def set(self, number: int | str, entry: dict) -> None:
        with self._lock:
            self.chapters[str(number)] = entry
            self._write()

    def _write(self) -> None:
        atomic_write(self.path, json.dumps({"version": MANIFEST_VERSION, "chapters": self.chapters,
                                                 "first_render": self.first}, indent=1))

    def first_render(self) -> str:
        """When this work was first rendered: the base of the feed's increasing pubDates."""
        if not self.first:
            self.first = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
            with self._lock:
                self._write()
        return self.first

    def keys_in_use(self) -> set[str]:
        return {k for entry in self.chapters.values() for k in entry.get("segments", [])}


def ensure_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".audiofic-write-test-"):
            pass
    except OSError as exc:
        raise AudioficError(f"cannot write to {folder}: {exc.strerror or exc}") from None


class _Inline:
    """An executor that runs each job at once, in this process (for --jobs 1)."""

    def submit(self, fn, *args):
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller through the future
            future.set_exception(exc)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


ProgressFn = Callable[[dict], None]


PER_CHAPTER = ("mp3", "opus")


def render(
    path: Path,
    output: Path = Path("output"),
    voices: Path | None = None,
    chapters: tuple[str, ...] = (),
    jobs: int | None = None,
    force: bool = False,
    cache_dir: Path | None = None,
    title: str | None = None,
    author: str | None = None,
    progress: ProgressFn | None = None,
    notes: str = "skip",
    read_summary: bool = True,
    formats: tuple[str, ...] = ("mp3",),
    cover: Path | None = None,
    loudness: str = "audiobook",
    base_url: str | None = None,
) -> Report:
    started = time.monotonic()
    assemble.require_ffmpeg()
    formats = tuple(dict.fromkeys(formats or ("mp3",)))
    level = parse_loudness(loudness)
    work = load_work(path, title, author, notes, read_summary)
    out_dir = work_dir(output, work)
    config, user_cast = load_layers(out_dir, voices, work.language)
    casting = cast_work(work, config, user_cast)
    the_plan = plan(work, config, casting, formats=formats)
    selected = parse_chapter_selection(chapters, len(the_plan.chapters))
    the_cover = load_cover(cover) if cover else generate_cover(work.title, work.author, ", ".join(work.fandoms[:2]))
    ensure_writable(out_dir)
    write_cast_file(out_dir / "voices.toml", work, casting)
    cache = Path(cache_dir) if cache_dir else out_dir / STATE_DIR / "cache"
    ensure_writable(cache)
    remove_stale_partials(out_dir)
    apply_levels(the_plan, Levels(cache, level), config)
    for cp in the_plan.chapters:
        cp.tags.cover_id = cover_id(the_cover)
    write_if_changed(out_dir / COVER_NAME, the_cover.data)
    manifest = Manifest(out_dir / STATE_DIR / "manifest.json")
    report = Report(out_dir=out_dir)

    todo: list[ChapterPlan] = []
    per_chapter = [f for f in formats if f in PER_CHAPTER]
    for cp in the_plan.chapters if per_chapter else []:
        entry = manifest.get(cp.chapter.number)
        if selected is not None and cp.chapter.number not in selected:
            if entry and _files_current(cp, entry, out_dir, audio=False):
                _retag_if_changed(cp, entry, out_dir, manifest, report, the_cover)  # a new track total
            continue
        if not force and entry and _files_current(cp, entry, out_dir):
            _retag_if_changed(cp, entry, out_dir, manifest, report, the_cover)
            report.skipped += 1
            report.audio_seconds += entry.get("seconds", 0.0)
            continue
        todo.append(cp)
    jobs = jobs or os.cpu_count() or 1
    _synthesize_and_encode(todo, cache, out_dir, manifest, report, jobs, progress, the_cover)
    if "m4b" in formats and selected is None:
        _render_m4b(the_plan, cache, out_dir, manifest, report, jobs, progress, the_cover, force)
    publish(the_plan, out_dir, manifest, formats, base_url)
    report.wall_seconds = time.monotonic() - started
    return report


COVER_NAME = "cover.jpg"


def apply_levels(the_plan: Plan, levels: Levels, config: dict) -> None:
    """Each segment's voice gain, and the chapter gain and limiter, into the plan."""
    voices = {p.voice for cp in the_plan.chapters for p in cp.segments}
    gains = {voice: levels.voice_gain(voice) for voice in voices}
    for cp in the_plan.chapters:
        cp.gains = [gains[p.voice] for p in cp.segments]
    gain = levels.chapter_gain(role_voice(config, "narrator"))
    for cp in the_plan.chapters:
        cp.level_gain, cp.loudness = gain, levels.loudness


def write_if_changed(path: Path, data: bytes) -> None:
    if not path.exists() or path.read_bytes() != data:
        atomic_write(path, data)


def _files_current(cp: ChapterPlan, entry: dict, out_dir: Path, audio: bool = True) -> bool:
    if audio and entry.get("audio") != cp.audio_hash:
        return False
    files = entry.get("files", {})
    return files == cp.filenames and all((out_dir / name).exists() for name in files.values())


def existing(path: Path) -> Path | None:
    return path if path.exists() else None


def _retag_if_changed(cp: ChapterPlan, entry: dict, out_dir: Path, manifest: Manifest, report: Report,
                      cover: Cover) -> None:
    """Tags only (a new track total, say): written in place, the audio left as it is."""
    if entry.get("tags") != cp.tags.as_dict():
        marks = [tuple(m) for m in entry.get("marks", [])]
        for fmt, name in entry["files"].items():
            write_tags_in_place(out_dir / name, fmt, cp.tags, cover, marks)
        manifest.set(cp.chapter.number, entry | {"tags": cp.tags.as_dict()})
        report.retagged += 1


def write_tags_in_place(path: Path, fmt: str, tags: Tags, cover: Cover | None = None, marks=None) -> None:
    """Retag without re-encoding; via a temporary copy so a kill never leaves a broken file."""
    tmp = partial_name(path)
    with open(path, "rb") as src, open(tmp, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    write_tags(tmp, fmt, tags, cover, marks)
    os.replace(tmp, path)


def remove_stale_partials(out_dir: Path) -> None:
    for stale in out_dir.glob(".*.partial"):
        with contextlib.suppress(OSError):
            stale.unlink()


def _synthesize_and_encode(
    todo: list[ChapterPlan],
    cache: Path,
    out_dir: Path,
    manifest: Manifest,
    report: Report,
    jobs: int,
    progress: ProgressFn | None,
    cover: Cover,
    encode: bool = True,
) -> None:
    if not todo:
        return
    all_keys = {p.key for cp in todo for p in cp.segments}
    missing = {}
    for cp in todo:
        for p in cp.segments:
            if p.key not in missing and not cache_path(cache, p.key).exists():
                missing[p.key] = SynthJob(p.key, p.speech, p.voice)
    report.synthesized += len(missing)
    report.cached += len(all_keys) - len(missing)
    state = {"chapters_total": len(todo) if encode else 0, "chapters_done": 0, "segments_total": len(missing),
             "segments_done": 0, "started": time.monotonic()}
    lock = threading.Lock()
    cancel = threading.Event()

    def tick(_future=None):
        with lock:
            if _future is not None:
                state["segments_done"] += 1
            snapshot = dict(state)
        if progress:
            progress(snapshot)

    if jobs > 1 and len(missing) > 1:
        synth_pool = cf.ProcessPoolExecutor(
            max_workers=min(jobs, len(missing)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=init_worker,
        )
    else:
        synth_pool = _Inline()
    encode_pool = cf.ThreadPoolExecutor(max_workers=max(1, jobs))
    futures: dict[str, cf.Future] = {}
    encodes: list[cf.Future] = []
    try:
        tick()
        for key, job in missing.items():
            futures[key] = synth_pool.submit(synthesize_job, job, cache)
            futures[key].add_done_callback(tick)
        if not encode:
            for future in futures.values():
                future.result()
            return
        for cp in todo:
            encodes.append(encode_pool.submit(_encode_chapter, cp, cache, out_dir, manifest, cancel, futures, cover))
        for future in encodes:
            report.audio_seconds += future.result()
            report.rendered += 1
            with lock:
                state["chapters_done"] += 1
            tick()
    except BaseException:
        cancel.set()
        for future in list(futures.values()) + encodes:
            future.cancel()
        raise
    finally:
        synth_pool.shutdown(wait=True, cancel_futures=True)
        encode_pool.shutdown(wait=True, cancel_futures=True)


def _chapter_parts(cp: ChapterPlan, cache: Path, pending: dict[str, cf.Future] | None = None):
    for p, ms, gain in zip(cp.segments, cp.pause_ms, cp.gains):
        if pending and p.key in pending:
            pending[p.key].result()
        yield cache_path(cache, p.key), ms, gain


def _marks(cp: ChapterPlan, positions: list[int]) -> list[tuple[str, str, int, int]]:
    """CHAP frames for one chapter file: its head (room tone and title), text and end."""
    ms = [round(x * 1000 / assemble.SAMPLE_RATE) for x in positions]
    # positions: start of each segment, then start of the tail, then the end of the file
    first_text = next((i for i, p in enumerate(cp.segments) if p.segment.kind != "heading"), len(cp.segments))
    text_start, tail_start, end = ms[first_text], ms[-2], ms[-1]
    # Ids sort in time order: mutagen writes frames sorted, and some readers list them as stored.
    return [("0-head", cp.chapter.title, 0, text_start), ("1-text", cp.chapter.title, text_start, tail_start),
            ("2-end", "End", tail_start, end)]


def _encode_chapter(
    cp: ChapterPlan,
    cache: Path,
    out_dir: Path,
    manifest: Manifest,
    cancel: threading.Event,
    pending: dict[str, cf.Future],
    cover: Cover,
) -> float:
    """Encode while the chapter is still being synthesized: each segment is awaited in turn."""
    outputs = [(fmt, out_dir / name) for fmt, name in cp.filenames.items()]
    positions: list[int] = []

    def pcm(marks=None):
        for chunk in assemble.chapter_pcm(_chapter_parts(cp, cache, pending), cp.head_ms, cp.tail_ms, marks):
            if cancel.is_set():
                raise AudioficError("render interrupted")
            yield chunk

    try:
        first_fmt = outputs[0][0]
        measured, _peak = measure(pcm(), cp.chain(first_fmt))  # first listen: how loud through the limiter
        gain = trim(measured, cp.loudness)
        temps = [(fmt, partial_name(final), cp.chain(fmt, gain)) for fmt, final in outputs]
        seconds = assemble.encode(pcm(positions), temps)
        marks = _marks(cp, positions)
        for fmt, tmp, _chain in temps:
            write_tags(tmp, fmt, cp.tags, cover, marks)
        for (_fmt, tmp, _chain), (_fmt2, final) in zip(temps, outputs):
            os.replace(tmp, final)
    except BaseException:
        for _fmt, final in outputs:
            with contextlib.suppress(FileNotFoundError):
                partial_name(final).unlink()
        raise
    old = manifest.get(cp.chapter.number)
    for name in (old or {}).get("files", {}).values():
        if name not in cp.filenames.values():
            with contextlib.suppress(FileNotFoundError):
                (out_dir / name).unlink()
    manifest.set(
        cp.chapter.number,
        {
            "files": cp.filenames,
            "title": cp.chapter.title,
            "audio": cp.audio_hash,
            "tags": cp.tags.as_dict(),
            "segments": [p.key for p in cp.segments],
            "pauses": cp.pause_ms,
            "gains": cp.gains,
            "chains": {fmt: cp.chain(fmt) for fmt in cp.filenames},
            "marks": marks,
            "seconds": seconds,
        },
    )
    return seconds


def m4b_name(slug: str) -> str:
    return f"{slug}.m4b"


def _render_m4b(the_plan: Plan, cache: Path, out_dir: Path, manifest: Manifest, report: Report, jobs: int,
                progress: ProgressFn | None, cover: Cover, force: bool) -> None:
    """The whole work in one M4B with a chapter mark per chapter (QuickTime and Nero)."""
    final = out_dir / m4b_name(the_plan.slug)
    album_tags = the_plan.chapters[0].tags
    audio = hashlib.sha256(json.dumps([cp.hash_for(["m4b"]) for cp in the_plan.chapters]).encode()).hexdigest()[:40]
    entry = manifest.get("m4b")
    per_chapter = any(cp.filenames for cp in the_plan.chapters)
    if not force and entry and entry.get("audio") == audio and final.exists():
        if entry.get("tags") != album_tags.as_dict():
            write_tags_in_place(final, "m4b", album_tags, cover)
            manifest.set("m4b", entry | {"tags": album_tags.as_dict()})
        report.m4b = "unchanged"
        report.audio_seconds += 0 if per_chapter else entry.get("seconds", 0.0)
        return
    cached_before = report.cached
    _synthesize_and_encode(the_plan.chapters, cache, out_dir, manifest, report, jobs, progress, cover, encode=False)
    if per_chapter:  # the chapters' own pass already counted these segments
        report.cached = cached_before
    starts, position = [], 0
    for cp in the_plan.chapters:
        starts.append(position)
        frames = sum(round(wav_duration(cache_path(cache, p.key)) * assemble.SAMPLE_RATE) for p in cp.segments)
        position += frames + round(assemble.SAMPLE_RATE * (sum(cp.pause_ms) + cp.head_ms + cp.tail_ms) / 1000)
    meta = [";FFMETADATA1"]
    for cp, start, stop in zip(the_plan.chapters, starts, starts[1:] + [position]):
        title = re.sub(r"([=;#\\\n])", r"\\\1", cp.chapter.title)
        meta += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start * 1000 // assemble.SAMPLE_RATE}",
                 f"END={stop * 1000 // assemble.SAMPLE_RATE}", f"title={title}"]
    meta_path = partial_name(out_dir / "chapters.ffmeta")
    meta_path.write_text("\n".join(meta) + "\n", "utf-8")
    tmp = partial_name(final)

    def pcm():
        for cp in the_plan.chapters:
            yield from assemble.chapter_pcm(_chapter_parts(cp, cache), cp.head_ms, cp.tail_ms)

    first = the_plan.chapters[0]
    try:
        measured, _peak = measure(pcm(), first.chain("m4b"))
        seconds = assemble.encode(pcm(), [("m4b", tmp, first.chain("m4b", trim(measured, first.loudness)))],
                                  metadata=meta_path)
        write_tags(tmp, "m4b", album_tags, cover)
        os.replace(tmp, final)
    finally:
        for leftover in (tmp, meta_path):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    manifest.set("m4b", {"file": final.name, "audio": audio, "tags": album_tags.as_dict(), "seconds": seconds})
    report.m4b = "written"
    report.audio_seconds += 0 if per_chapter else seconds


def publish(the_plan: Plan, out_dir: Path, manifest: Manifest, formats: tuple[str, ...], base_url: str | None) -> None:
    """feed.xml and playlist.m3u8 for the chapters that have files, in chapter order."""
    fmt = next((f for f in formats if f in PER_CHAPTER), None)
    episodes = []
    if fmt:
        for cp in the_plan.chapters:
            entry = manifest.get(cp.chapter.number)
            if entry and fmt in entry.get("files", {}) and (out_dir / entry["files"][fmt]).exists():
                episodes.append(Episode(cp.chapter.number, cp.chapter.title, out_dir / entry["files"][fmt],
                                        entry["seconds"], fmt))
    elif manifest.get("m4b") and (out_dir / manifest.get("m4b")["file"]).exists():
        entry = manifest.get("m4b")
        episodes.append(Episode(1, the_plan.work.title, out_dir / entry["file"], entry["seconds"], "m4b"))
    first = manifest.first_render()
    base = base_url or f"http://127.0.0.1:{DEFAULT_PORT}/{the_plan.slug}/"
    atomic_write(out_dir / "feed.xml", write_feed(out_dir / "feed.xml", the_plan.work, the_plan.slug, episodes,
                                                       base, COVER_NAME, first))
    atomic_write(out_dir / "playlist.m3u8", m3u(episodes, the_plan.work))


DEFAULT_PORT = 8000


@dataclass
class CacheStats:
    entries: int = 0
    bytes: int = 0
    removed: int = 0
    freed: int = 0


def cache_usage(output: Path, cache_dir: Path | None = None, prune: bool = False) -> CacheStats:
    """Size of the segment cache(s); with prune, drop entries that no rendered chapter uses.

    Without --cache, each work under `output` has its own cache, judged by its own manifest;
    a shared --cache is judged by the manifests of every work under `output`.
    """
    output = Path(output)
    works = [p.parent.parent for p in output.glob(f"*/{STATE_DIR}/manifest.json")]
    if cache_dir is not None:
        pairs = [(Path(cache_dir), set().union(*(Manifest(w / STATE_DIR / "manifest.json").keys_in_use() for w in works)))]
    else:
        pairs = [(w / STATE_DIR / "cache", Manifest(w / STATE_DIR / "manifest.json").keys_in_use()) for w in works]
    stats = CacheStats()
    for folder, in_use in pairs:
        try:  # the voices' calibration passages (levels.py) stay too
            in_use = in_use | set(json.loads((folder / "levels.json").read_text("utf-8")))
        except (OSError, ValueError):
            pass
        for entry in folder.glob("??/*.wav"):
            size = entry.stat().st_size
            stats.entries += 1
            stats.bytes += size
            if prune and entry.stem not in in_use:
                entry.unlink()
                stats.removed += 1
                stats.freed += size
        for stale in folder.glob("??/.*.tmp.wav"):
            if prune:
                stale.unlink()
    return stats
