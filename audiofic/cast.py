"""Cast: a voice for every segment, from its kind and its speaker.

Automatic casting gives each speaking character a voice distinct from the narrator, from the
generic dialogue voice and from the other main characters, matching gender where known; the
most frequent speakers get the most distinct voices. Stability across renders comes from the
work's voices.toml, which records every choice and is read back next time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .characters import Character
from .config import Voice, role_voice
from .model import DIALOGUE, Segment, Work

# Accent and variant differ first; pitch varies once a palette has been used up.
FEMALE_VOICES = ["en+f2", "en-us+f4", "en-029+f1", "en-gb-scotland+f3", "en-gb-x-gbclan+f5",
                 "en-us+f2", "en-gb-x-rp+f4", "en-gb-x-gbcwmd+f1"]
MALE_VOICES = ["en+m3", "en-us+m1", "en-gb-scotland+m2", "en-029+m4", "en-gb-x-gbclan+m7",
               "en-gb-x-rp+m5", "en-us+m6", "en-gb-x-gbcwmd+m3"]
PITCH_STEPS = [0, -12, 12]


@dataclass
class CastEntry:
    character: Character
    lines: int
    words: int
    voice: Voice


def speaking_counts(work: Work) -> tuple[Counter, Counter]:
    lines, words = Counter(), Counter()
    for chapter in work.chapters:
        for seg in chapter.segments:
            if seg.kind == DIALOGUE and seg.speaker:
                lines[seg.speaker] += 1
                words[seg.speaker] += len(seg.text.split())
    return lines, words


def cast_voices(work: Work, characters: list[Character], config: dict,
                narrator: str | None = None) -> dict[str, CastEntry]:
    """A voice for every character: the one the voices file gives, else a free one. A
    first-person narrator character speaks in the narrator's voice, as a human reader would."""
    lines, words = speaking_counts(work)
    base = role_voice(config, "dialogue")
    taken = {role_voice(config, "narrator").voice, base.voice}
    taken |= {c.voice["voice"] for c in characters if c.voice.get("voice")}
    used: Counter = Counter()
    entries = {}
    language = role_voice(config, "narrator").voice.split("+")[0]
    palettes = None
    if not language.startswith("en"):  # variants of the work's own language, never English voices
        palettes = ([f"{language}+f{i}" for i in (2, 4, 1, 5)], [f"{language}+m{i}" for i in (3, 1, 2, 4, 7, 5)])
    ordered = sorted(characters, key=lambda c: (-lines[c.name], characters.index(c)))
    for character in ordered:
        chosen = dict(character.voice)
        if character.name == narrator and "voice" not in chosen:
            chosen = role_voice(config, "narrator").as_dict() | chosen
        if "voice" not in chosen:
            chosen.update(_pick(character.gender, taken, used, palettes))
        voice = Voice(
            engine=chosen.get("engine", base.engine),
            voice=chosen["voice"],
            rate=float(chosen.get("rate", base.rate)),
            pitch=float(chosen.get("pitch", 50)),
            volume=float(chosen.get("volume", base.volume)),
        )
        entries[character.name] = CastEntry(character, lines[character.name], words[character.name], voice)
    return entries


def _pick(gender: str, taken: set[str], used: Counter, palettes=None) -> dict:
    """The next voice for this gender, never the narrator's or the dialogue voice."""
    female, male = palettes or (FEMALE_VOICES, MALE_VOICES)
    if gender == "female":
        palette = female
    elif gender == "male":
        palette = male
    else:
        palette = [v for pair in zip(male, female) for v in pair]
    free = [v for v in palette if v not in taken]
    for round_ in range(len(PITCH_STEPS)):
        for voice in free:
            if used[voice] == round_:
                used[voice] += 1
                return {"voice": voice, "pitch": 50 + PITCH_STEPS[round_]}
    voice = min(free or palette, key=lambda v: used[v])
    used[voice] += 1
    return {"voice": voice, "pitch": 50}


def voice_for(segment: Segment, config: dict, cast: dict[str, CastEntry] | None = None) -> tuple[str, Voice]:
    """(who reads it, which voice): the narrator, a character, or the generic dialogue voice."""
    if segment.kind == DIALOGUE:
        if cast and segment.speaker in cast:
            return segment.speaker, cast[segment.speaker].voice
        return "dialogue", role_voice(config, "dialogue")
    return "narrator", role_voice(config, "narrator")
