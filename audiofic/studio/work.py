"""The work the studio shows: planned as the CLI plans it, from the same voices file, with the
options of its last render; its chapters' state, its cast, the voices on offer, and the sounds
the page plays (auditions and previews, made on demand and kept under .audiofic/studio)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path

from ..casting.cast import write_cast_file
from ..engines import builtin_engines, get_engine
from ..errors import AudioficError
from ..model import DIALOGUE, Voice
from ..publish.library import STATE_DIR
from ..run.audition import sample, speak_to, their_line
from ..run.plan import Options, Prepared, prepare
from ..run.state import Manifest, recorded_options
from ..story.attribute import CONFIDENCE

PATH_OPTIONS = ("output", "voices", "cache", "cover", "cast_from")
SOUNDS = "studio"  # under the work's .audiofic/: auditions and previews


@dataclass
class ChapterState:
    number: int
    title: str
    state: str  # "rendered", "stale" or "not rendered"
    file: str | None  # the chapter's audio, relative to the work's folder


@dataclass
class Line:
    index: int
    kind: str
    reader: str
    speaker: str | None
    rule: str | None
    confidence: str | None
    text: str


def options_from_record(recorded: dict, output: Path) -> Options:
    known = {f.name for f in dataclasses.fields(Options)}
    values = {k: v for k, v in recorded.items() if k in known}
    for key in PATH_OPTIONS:
        if values.get(key) is not None:
            values[key] = Path(values[key])
    values["formats"] = tuple(values.get("formats") or ("mp3",))
    values["output"] = output  # where the studio was pointed wins
    try:
        return Options(**values)
    except TypeError as exc:
        raise AudioficError(f"the work's last render left options this audiofic cannot read ({exc})") from None


def installed_voices(language: str = "en") -> list[tuple[str, str, str]]:
    out = []
    for name in builtin_engines():
        try:
            engine = get_engine(name)
            listed = [(v.id, f"{v.name} ({(v.gender or 'neutral').lower()}, {','.join(v.languages)})")
                      for v in engine.voices()]
            palette = engine.palette(language)
        except AudioficError:
            continue  # not installed here
        ids = {i for i, _ in listed}
        listed += [(v, "cast voice") for v in palette.female + palette.male + palette.neutral if v not in ids]
        out += [(name, vid, about) for vid, about in dict(listed).items()]
    return out


class StudioWork:
    """One work, re-planned whenever its voices file changes."""

    def __init__(self, source: Path, output: Path):
        self.source = source.resolve()
        first = prepare(self.source, Options(output=output), check_voices=False)
        self.out_dir = first.out_dir
        self.title = first.work.title  # for the page's heading, even while the voices file will not read
        recorded = recorded_options(self.out_dir)
        self.options = options_from_record(recorded[1], output) if recorded else Options(output=output)
        self.voices_file = self.out_dir / "voices.toml"
        self._lock = threading.Lock()
        self._speaking = threading.Lock()  # one engine at a time in this process
        self._ready: Prepared | None = None
        self._stamp = None
        self._offered: list[tuple[str, str, str]] | None = None
        if not self.voices_file.exists():  # the page edits the file the CLI reads: start it as a render would
            ready = self.ready()
            self.out_dir.mkdir(parents=True, exist_ok=True)
            write_cast_file(self.voices_file, ready.work, ready.casting, ready.config)

    def _current_stamp(self):
        stat = [p.stat() if p.exists() else None for p in (self.voices_file, self.source)]
        return tuple((s.st_mtime_ns, s.st_size) if s else None for s in stat)

    def ready(self) -> Prepared:
        with self._lock:
            stamp = self._current_stamp()
            if self._ready is None or stamp != self._stamp:
                self._ready = prepare(self.source, dataclasses.replace(self.options, chapters=()), check_voices=False)
                self._stamp = stamp
            return self._ready

    def chapters(self) -> list[ChapterState]:
        manifest = Manifest.of(self.out_dir)
        states = []
        for cp in self.ready().plan.chapters:
            record = manifest.get(cp.chapter.number)
            files = getattr(record, "files", None) or {}
            name = next(iter(files.values()), None)
            if not name or not (self.out_dir / name).is_file():
                state, name = "not rendered", None
            elif record.segments != [p.key for p in cp.segments]:
                state = "stale"
            else:
                state = "rendered"
            states.append(ChapterState(cp.chapter.number, cp.chapter.title, state, name))
        return states

    def cast(self) -> list[dict]:
        ready = self.ready()
        rows = []
        for entry in sorted(ready.casting.entries.values(), key=lambda e: (-e.lines, e.character.name)):
            c = entry.character
            rows.append({"name": c.name, "aliases": list(c.aliases), "gender": c.gender, "lines": entry.lines,
                         "engine": entry.voice.engine, "voice": entry.voice.voice})
        return rows

    def speakers(self) -> list[str]:
        return sorted(self.ready().casting.entries, key=str.casefold)

    def script(self, number: int) -> list[Line]:
        cp = self.chapter_plan(number)
        return [Line(i, p.segment.kind, p.reader, p.segment.speaker,
                     p.segment.rule if p.segment.kind == DIALOGUE else None,
                     CONFIDENCE.get(p.segment.rule) if p.segment.kind == DIALOGUE else None, p.segment.text)
                for i, p in enumerate(cp.segments)]

    def chapter_plan(self, number: int):
        for cp in self.ready().plan.chapters:
            if cp.chapter.number == number:
                return cp
        raise AudioficError(f"this work has no chapter {number}")

    def offered(self) -> list[tuple[str, str, str]]:
        """(engine, voice id, description) of every voice the installed engines offer: asked of
        the engines once (every page, picker and preview checks against it)."""
        if self._offered is None:
            self._offered = installed_voices()
        return self._offered

    def audition(self, name: str) -> Path:
        """One of the character's own lines in their voice."""
        lines = [p for cp in self.ready().plan.chapters for p in cp.segments
                 if p.segment.kind == DIALOGUE and p.reader == name]
        line = their_line(lines)
        if line is None:
            raise AudioficError(f"{name!r} has no line of their own")
        return self._sound(line.speech, line.voice, lambda path: speak_to(path, line.speech, line.voice))

    def preview(self, engine: str, voice: str) -> Path:
        if (engine, voice) not in {(e, v) for e, v, _ in self.offered()}:
            raise AudioficError(f"{engine}/{voice}: not an installed voice")
        chosen = Voice(engine, voice, 155.0, get_engine(engine).default_pitch, 1.0)
        return self._sound("sample", chosen, lambda path: sample(chosen, path))

    def _sound(self, speech: str, voice: Voice, make) -> Path:
        key = hashlib.sha256(json.dumps([speech, voice.as_dict()], sort_keys=True).encode()).hexdigest()[:24]
        path = self.out_dir / STATE_DIR / SOUNDS / f"{key}.wav"
        with self._speaking:
            if not path.is_file():
                make(path)
        return path
