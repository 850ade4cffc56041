"""Cast: who is in a work, who says each line, and a voice for every speaker.

Automatic casting gives each speaking character a voice distinct from the narrator, from the
generic dialogue voice and from the other main characters, matching gender where known; the
most frequent speakers get the most distinct voices. The voices come from the voices file's
[palette] (voices of several engines, by gender, best first) when the dialogue voice's engine is
one of its engines, else from the dialogue engine's own palette. Stability across renders comes
from the work's voices.toml, which records every choice and is read back next time.
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import Path

from ..story.characters import (FEMALE_TITLES, MALE_TITLES, READER, Character, NameIndex, chat_sender,
                                described_gender, discover, infer_gender, infer_genders, name_gender,
                                reader_character, script_name)
from ..story.spoken import has_reader_insert
from .config import Config, shipped
from ..engines import Palette, get_engine
from ..errors import AudioficError
from ..files import atomic_write
from ..model import DIALOGUE, Segment, Voice, Work


@dataclass
class CastEntry:
    character: Character
    lines: int
    words: int
    voice: Voice


@dataclass
class Casting:
    characters: list[Character]
    narrator: str | None
    entries: dict[str, CastEntry]
    new: list[Character]  # found in the text but not in the cast file: `audiofic cast` lists them
    heard: list[Character] = field(default_factory=list)  # the cast as attribution saw it (genders too)


@dataclass
class Cast:
    """Who is in a work before anyone is heard: the characters attribution listens for, and
    those the text names that the voices file does not (`audiofic cast` lists them)."""

    characters: list[Character]
    new: list[Character]
    first_render: bool  # no cast in the voices files: the cast is what the text gives


def listened_for(work: Work, cast: Cast) -> list[Character]:
    """The characters as attribution listens for them. On a first render, a gender the
    pronouns left open is the one the first name usually has, as casting will give it, where
    no pronoun after the name says otherwise ("he said" on the telephone is Angel's, not the
    man upstairs'); a name the pronouns split on stays open. The cast file records them so, and
    a later render hears the work as this one did."""
    open_ = [c for c in cast.characters if c.gender == "unknown"]
    if not cast.first_render or not open_:
        return cast.characters
    counts: dict[str, tuple[int, int]] = {}
    infer_genders([n for c in open_ for n in c.names()], "\n\n".join(ch.text for ch in work.chapters), counts)
    heard = []
    for c in cast.characters:
        guess = name_gender(c.name) if c.gender == "unknown" else c.gender
        he, she = _he_she(c, counts)
        against = she if guess == "male" else he if guess == "female" else 1
        heard.append(dataclasses.replace(c, gender=guess) if c.gender == "unknown" and not against else c)
    return heard


def _he_she(character: Character, counts: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """The "he"s and "she"s after any of a character's names (infer_genders' evidence)."""
    return (sum(counts.get(n, (0, 0))[0] for n in character.names()),
            sum(counts.get(n, (0, 0))[1] for n in character.names()))


def find_cast(work: Work, config: Config, user_cast: list[str] | None = None, find_new: bool = False) -> Cast:
    """The cast the voices files give (the work's own cast file, once a render wrote it), or on
    a first render the work's character tags and what discovery finds."""
    characters = list(config.characters)
    if user_cast:
        characters = [c for c in characters if c.name in user_cast]
    new: list[Character] = []
    if find_new or not characters:
        body = "\n\n".join(chapter.text for chapter in work.chapters)
        discovered = discover(body)
        seeded = [] if characters else tagged_characters(work, body, discovered)
        known = {n for c in characters + seeded for n in c.names()}
        new = seeded + [found for found in discovered if not known & set(found.names())]
        new += chat_senders(work, characters + new)
        reader = reader_character(body, has_reader_insert(body))
        if reader and not any(c.name == READER or "Y/N" in c.aliases for c in characters + new):
            new.append(reader)
    if not characters:
        # Afterwards the voices file is the cast, so a new chapter never re-attributes old
        # ones; newcomers are only reported.
        return Cast(new, [], first_render=True)
    return Cast(characters, new, first_render=False)


def cast_work(work: Work, cast: Cast, narrator: str | None, config: Config,
              series: tuple[Character, ...] = (), described: list[Character] | None = None,
              recast: bool = False) -> Casting:
    """A voice for everyone the attributed work hears. On a first render a name that never
    speaks needs no voice (it is listed, not cast), and a gender the pronouns left open is the
    one the first name usually has (on a recast too: the cast file keeps the text's genders)."""
    lines, _words = speaking_counts(work)
    silent = [c for c in cast.characters if not lines[c.name] and c.name != narrator and not c.voice.voice]
    characters = [c for c in cast.characters if c not in silent]
    if cast.first_render or recast:
        characters = [c if c.gender != "unknown" else dataclasses.replace(c, gender=name_gender(c.name))
                      for c in characters]
    characters += described or []
    warn_about_pins(work, characters, config.overrides)
    entries = cast_voices(work, characters, config, narrator, series)
    return Casting(characters, narrator, entries, silent + cast.new, heard=cast.characters)


DESCRIBED_LINES = 2  # a described speaker heard this often gets a voice of their own


def described_speakers(described: dict[tuple[int, int], str], cast: Cast) -> list[Character]:
    """Those known only by a description ("the drunken buffoon", "his mother") who speak several
    lines (`described`: attribution's description of each such line): on a first render, a
    voice of their own, never a named character's or the one shared [dialogue] voice. Later the
    cast file names them."""
    if not cast.first_render:
        return []
    heard = Counter(described.values())
    known = {c.name for c in cast.characters}
    return [Character(name, [], described_gender(name)) for name, count in heard.items()
            if count >= DESCRIBED_LINES and name not in known]


def gender_reasons(work: Work, casting: Casting) -> dict[str, str]:
    """Why each character has the gender they have: a title, the "he"s and "she"s after their
    names across the work, what the first name usually is, or the voices file."""
    counts: dict[str, tuple[int, int]] = {}
    names = [name for c in casting.characters for name in c.names()]
    infer_genders(names, "\n\n".join(chapter.text for chapter in work.chapters), counts)
    why = {}
    for c in casting.characters:
        he, she = _he_she(c, counts)
        if c.name.split()[0] in MALE_TITLES | FEMALE_TITLES:
            why[c.name] = "title"
        elif c.gender != "unknown" and (he or she) and (c.gender == "male") == (he > she):
            why[c.name] = f"he {he}, she {she}"
        elif c.gender != "unknown" and c.gender == name_gender(c.name):
            why[c.name] = "first name"
        else:
            why[c.name] = f"he {he}, she {she}" if he or she else ("voices file" if c.gender != "unknown" else "-")
    return why


def cast_notes(entries: list[CastEntry], few: int = 2) -> dict[str, list[str]]:
    """What a user should look at in a cast: characters heard only a line or two (a name
    discovery may have mistaken), and two names that may be one person ("Will" and "Willow":
    one is the other's start, or they differ by a letter)."""
    notes: dict[str, list[str]] = {}
    for entry in entries:
        if 0 < entry.lines <= few:
            notes.setdefault(entry.character.name, []).append(f"only {entry.lines} line{'s' * (entry.lines > 1)}")
    names = {e.character.name: {n.lower() for n in e.character.names()} for e in entries}
    for name, forms in names.items():
        for other, other_forms in names.items():
            if other != name and any(_may_be(a, b) or _may_be(b, a) for a in forms for b in other_forms):
                notes.setdefault(name, []).append(f"may be {other}")
    return notes


def _may_be(a: str, b: str) -> bool:
    first_a, first_b = a.split()[0], b.split()[0]
    if len(first_a) >= 3 and first_b.startswith(first_a) and first_a != first_b:
        return True  # "will" → "willow"
    return len(first_a) >= 4 and SequenceMatcher(None, first_a, first_b).ratio() >= 0.8  # a letter off


def chat_senders(work: Work, known: list[Character]) -> list[Character]:
    """The senders of chat and text-message logs whom no known character answers to."""
    index = NameIndex(known)
    senders = [seg.speaker for chapter in work.chapters for seg in chapter.segments
               if seg.rule == "chat" and seg.speaker]
    unknown = [chat_sender(sender, index) for sender in dict.fromkeys(senders)
               if chat_sender(sender, index) == script_name(sender)]
    return [Character(name) for name in dict.fromkeys(unknown) if name not in {c.name for c in known}]


def warn_about_pins(work: Work, characters: list[Character], overrides: dict[tuple[int, int], str]) -> None:
    """An [overrides] pin that points nowhere is said, never silently ignored."""
    names = {c.name for c in characters}
    for (chapter_no, index), speaker in sorted(overrides.items()):
        pin = f'"{chapter_no}:{index}" = "{speaker}"'
        segments = work.chapters[chapter_no - 1].segments if 0 < chapter_no <= len(work.chapters) else None
        if segments is None:
            warnings.warn(f"[overrides] {pin}: this work has no chapter {chapter_no}")
        elif not 0 <= index < len(segments) or segments[index].kind != DIALOGUE:
            warnings.warn(f"[overrides] {pin}: segment {index} of chapter {chapter_no} is not a dialogue line "
                          "(see `audiofic script`)")
        elif speaker not in names:
            warnings.warn(f"[overrides] {pin}: {speaker!r} is not in the cast; the line keeps the dialogue voice")


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


def speaking_counts(work: Work) -> tuple[Counter, Counter]:
    lines, words = Counter(), Counter()
    for chapter in work.chapters:
        for seg in chapter.segments:
            if seg.kind == DIALOGUE and seg.speaker:
                lines[seg.speaker] += 1
                words[seg.speaker] += len(seg.text.split())
    return lines, words


def cast_voices(work: Work, characters: list[Character], config: Config,
                narrator: str | None = None, series: tuple[Character, ...] = ()) -> dict[str, CastEntry]:
    """A voice for every character: the one the voices file gives, else the one they had in the
    series' other works, else a free one from the palette (never one the series gave somebody
    else). A first-person narrator character speaks in the narrator's voice, as a human reader
    would."""
    lines, words = speaking_counts(work)
    base = config.dialogue
    palette = cast_palette(config)
    taken = {_qualified(config.narrator.engine, config.narrator.voice), _qualified(base.engine, base.voice)}
    taken |= {_qualified(c.voice.engine or base.engine, c.voice.voice) for c in characters + list(series) if c.voice.voice}
    used: Counter = Counter()
    entries = {}
    ordered = sorted(characters, key=lambda c: (-lines[c.name], characters.index(c)))
    for character in ordered:
        chosen = character.voice.given()
        if character.name == narrator and "voice" not in chosen:
            chosen = config.narrator.as_dict() | chosen
        if "voice" not in chosen and (before := _same_person(character, series)):
            chosen = before.voice.given() | chosen
        if "voice" not in chosen:
            chosen.update(_pick(character.gender, taken, used, palette))
        engine = chosen.get("engine", base.engine)
        voice = Voice(
            engine=engine,
            voice=chosen["voice"],
            rate=float(chosen.get("rate", base.rate)),
            pitch=float(chosen.get("pitch", get_engine(engine).default_pitch)),
            volume=float(chosen.get("volume", base.volume)),
        )
        entries[character.name] = CastEntry(character, lines[character.name], words[character.name], voice)
    return entries


def cast_palette(config: Config) -> Palette:
    """The voices to cast from, as "engine/voice": the voices file's [palette] when the dialogue
    voice's engine is among its engines (so a file that changes the dialogue engine, such as
    `--voices classic`, casts from that engine), else the dialogue engine's own palette."""
    given = config.palette
    engines = {entry.partition("/")[0] for voices in given.values() for entry in voices}
    if config.dialogue.engine in engines:
        usable = {gender: tuple(v for v in given.get(gender, ()) if _installed(v)) for gender in ("female", "male", "neutral")}
        if any(usable.values()):
            return Palette(usable["female"], usable["male"], usable["neutral"] or usable["female"] + usable["male"])
    engine = config.dialogue.engine
    own = get_engine(engine).palette(get_engine(config.narrator.engine).language_of(config.narrator.voice))
    return Palette(*(tuple(_qualified(engine, v) for v in voices) for voices in (own.female, own.male, own.neutral)),
                   pitch_steps=own.pitch_steps)


def narrator_for(config: Config, character: Character | None) -> Config:
    """A story told by one of its characters is read in a voice of that character's gender, as a
    human reader would: when the shipped voices chose the narrator (not the user) and its voice
    is of the other gender, the palette's first voice of the character's gender reads instead."""
    origin = config.origins.get("[narrator]")
    gender = character and (character.gender if character.gender != "unknown" else name_gender(character.name))
    if gender not in ("female", "male") or not origin or not shipped(origin):
        return config
    engine = get_engine(config.narrator.engine)
    info = next((v for v in engine.voices() if v.id == config.narrator.voice), None)
    choices = getattr(cast_palette(config), gender)
    if info is None or info.gender in (None, gender) or not choices or not config.palette:
        return config
    engine_name, _, voice = choices[0].partition("/")
    narrator = dataclasses.replace(config.narrator, engine=engine_name, voice=voice,
                                   pitch=float(get_engine(engine_name).default_pitch))
    return dataclasses.replace(config, narrator=narrator)


def _qualified(engine: str, voice: str | None) -> str:
    return f"{engine}/{voice}"


def _installed(entry: str) -> bool:
    """Whether a palette entry's engine and voice are here (an extra may not be installed)."""
    engine, _, voice = entry.partition("/")
    try:
        get_engine(engine).check_voice(voice)
    except AudioficError:
        return False
    return True


def _same_person(character: Character, others: tuple[Character, ...]) -> Character | None:
    """The one among `others` known by any of this character's names."""
    names = {n.casefold() for n in character.names()}
    return next((o for o in others if names & {n.casefold() for n in o.names()}), None)


def _pick(gender: str, taken: set[str], used: Counter, palette: Palette) -> dict:
    """The next voice for this gender, never the narrator's or the dialogue voice."""
    voices = {"female": palette.female, "male": palette.male}.get(gender) or palette.neutral  # none of that gender
    free = [v for v in voices if v not in taken]
    for round_, step in enumerate(palette.pitch_steps):
        for entry in free:
            if used[entry] == round_:
                used[entry] += 1
                return _choice(entry, step)
    entry = min(free or voices, key=lambda v: used[v])
    used[entry] += 1
    return _choice(entry, 0.0)


def _choice(entry: str, step: float) -> dict:
    engine, _, voice = entry.partition("/")
    return {"engine": engine, "voice": voice, "pitch": get_engine(engine).default_pitch + step}


THOUGHT_PACE = 0.9  # thoughts are read a little slower than the narration around them (and softer: levels)


def voice_for(segment: Segment, config: Config, cast: dict[str, CastEntry] | None = None) -> tuple[str, Voice]:
    """(who reads it, which voice): the narrator, a character, or the generic dialogue voice;
    *italic thoughts* a little slower (softer comes from their level) in the narrator's voice, or
    with `thoughts = "character"` in the voice of the one whose head the scene is told from."""
    if segment.kind == DIALOGUE and segment.rule != "quoted":  # scare quotes stay in the narrator's voice
        if cast and segment.speaker in cast:
            return segment.speaker, cast[segment.speaker].voice
        return "dialogue", config.dialogue
    if segment.style == "thought" and config.speech.thoughts != "plain":
        thinker = config.speech.thoughts == "character" and cast and cast.get(segment.speaker)
        voice = thinker.voice if thinker else config.narrator
        return "thought", dataclasses.replace(voice, rate=round(voice.rate * THOUGHT_PACE, 1))
    return "narrator", config.narrator


def voices_summary(config: Config, casting: Casting, most: int = 6) -> str:
    """"narrator hibari/heart; Julia kokoro/jf_alpha; …": the voices a render used, as a fan
    would look for them in the cast file."""
    parts = [f"narrator {config.narrator.engine}/{config.narrator.voice}"]
    ranked = sorted(casting.entries.values(), key=lambda e: -e.lines)
    parts += [f"{e.character.name} {e.voice.engine}/{e.voice.voice}" for e in ranked[:most]]
    if len(ranked) > most:
        parts.append(f"{len(ranked) - most} more")
    parts.append(f"unknown speakers {config.dialogue.engine}/{config.dialogue.voice}")
    return "; ".join(parts)


def reader_lines(config: Config, casting: Casting) -> list[str]:
    """Who reads a work, for an audiobook's narrator field: the narrator's voice first (a
    library shows that line), then each character's."""
    lines = [f"audiofic ({config.narrator.engine} {config.narrator.voice})"]
    ranked = sorted(casting.entries.values(), key=lambda e: -e.lines)
    lines += [f"{e.character.name}: {e.voice.engine} {e.voice.voice}" for e in ranked]
    return lines


def write_cast_file(path: Path, work: Work, casting: Casting, config: Config, recast: bool = False) -> None:
    """Record the cast and its voices in the work's voices.toml, so later renders keep them.
    Written once, on the first render; after that the file is the user's to edit (a recast
    writes it again, keeping the old one as voices.toml.bak). It holds the cast exactly as
    attribution heard it (the names that never speak, and the genders the text gave, included),
    so the next render attributes every line as this one did, and the narrator's and dialogue
    voices, so a change of audiofic's default voices never changes a work already rendered."""
    if (path.exists() and not recast) or not (casting.characters or casting.narrator):
        return
    if path.exists():
        atomic_write(path.with_name(path.name + ".bak"), path.read_bytes())
    lines = [
        f"# The cast of {work.title!r}, written by audiofic's first render and read back by every",
        "# later one. Edit a voice to recast a character, move an alias to merge two, rename one;",
        "# `audiofic voices` lists the voices. Pin one line to a speaker under [overrides]:",
        '# "3:12" = "Name" (chapter 3, segment 12 as `audiofic script` numbers them).',
        "",
    ]
    if work.series:  # the next work of the series starts from these voices
        lines += [f"series = {_toml_str(work.series)}", ""]
    for role in ("narrator", "dialogue"):
        voice = config.role(role)
        lines += [f"[{role}]" + ("  # lines whose speaker is not known" if role == "dialogue" else "")]
        if role == "narrator" and casting.narrator:  # the story is told by this character
            lines += [f"character = {_toml_str(casting.narrator)}"]
        lines += [f"engine = {_toml_str(voice.engine)}", f"voice = {_toml_str(voice.voice)}",
                  f"rate = {voice.rate:g}", f"pitch = {voice.pitch:g}", f"volume = {voice.volume:g}", ""]
    heard = {c.name: c for c in casting.heard or casting.characters}
    for character in sorted(casting.characters, key=lambda c: -casting.entries[c.name].lines):
        entry = casting.entries[character.name]
        gender = heard.get(character.name, character).gender
        lines += [
            f"[characters.{_toml_str(character.name)}]  # {entry.lines} lines, {entry.words} words",
            f"aliases = [{', '.join(_toml_str(a) for a in character.aliases)}]",
            f"gender = {_toml_str(gender)}"
            + (f"  # voiced as {character.gender}: what the first name usually is" if gender != character.gender else ""),
            f"engine = {_toml_str(entry.voice.engine)}",
            f"voice = {_toml_str(entry.voice.voice)}",
            f"pitch = {int(entry.voice.pitch)}",
            "",
        ]
    silent = [c for c in casting.heard if c.name not in casting.entries]
    for character in silent:  # named in the text, never heard: attribution listens for them
        lines += [
            f"[characters.{_toml_str(character.name)}]  # named in the text, never speaks: no voice",
            f"aliases = [{', '.join(_toml_str(a) for a in character.aliases)}]",
            f"gender = {_toml_str(character.gender)}",
            "",
        ]
    atomic_write(path, "\n".join(lines))


def _toml_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)
