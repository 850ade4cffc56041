"""Captions for read-along: WebVTT (speakers as `<v Name>`) and SRT cues per chapter, and the
chapter's Podcasting 2.0 JSON chapters (its title, then one mark per scene).

Cues hold the source text (not the spoken form), a sentence or two of one segment each, at most
about 15 s; their times come from the chapter's audio (see sound/timing.py), never from the
text's length alone. Cues never overlap and end within the file.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass

MAX_CUE_SECONDS = 15.0
MAX_CUE_SENTENCES = 2
SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]*_~]*(?=\s+\S)")
WORD = re.compile(r"[^\W_]+")
NEXT_WORD = re.compile(r"\s+(\S)")
NOT_AN_END = re.compile(r"(?:^|[\s(\"“'‘])(?:Mr|Mrs|Ms|Mx|Dr|Prof|St|Sr|Jr|Capt|Lt|Sgt|Gen|Col|Rev|Hon|Mt|[A-Z])$")


@dataclass
class Cue:
    start: float
    end: float
    text: str
    speaker: str | None = None  # a character's name; None for the narrator


def sentences(text: str) -> list[str]:
    """The text cut after each sentence's end mark (and any closing quote), whitespace folded;
    not after a title or an initial, nor before a word in lower case (a trailing "..." mid-thought)."""
    text = text.strip()
    ends = [m.end() for m in SENTENCE_END.finditer(text)
            if not (m.group() == "." and NOT_AN_END.search(text, 0, m.start()))  # "Dr. Penrose", "J. K."
            and not NEXT_WORD.match(text, m.end()).group(1).islower()]  # "here... and there"
    cuts = [0] + ends + [len(text)]
    parts = [" ".join(text[a:b].split()) for a, b in zip(cuts, cuts[1:])]
    return [p for p in parts if p]


def spoken_starts(parts: list[str], spoken: str) -> list[int | None]:
    """Where each sentence of the source (`parts`) begins in the text the engine was given (its
    spoken form: "Dr." said as "Doctor", "5" as "five"): the offset of its first word there, or
    None where the first word was said differently. Words are matched in order, as a diff does."""
    source: list[str] = []
    firsts = []
    for part in parts:
        firsts.append(len(source))
        source += [w.lower() for w in WORD.findall(part)]
    said = list(WORD.finditer(spoken))
    where: dict[int, int] = {}  # a source word's index → the spoken word's
    matcher = difflib.SequenceMatcher(None, source, [m.group().lower() for m in said], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            where.update({i: j1 + i - i1 for i in range(i1, i2)})
        elif j1 < j2:  # said differently: only its first word's start is known
            where.setdefault(i1, j1)
    return [said[where[i]].start() if i in where and where[i] < len(said) else None for i in firsts]


def segment_cues(parts: list[str], starts: list[float], end: float, speaker: str | None) -> list[Cue]:
    """One segment's cues: its sentences (`parts`, starting at `starts`, in seconds of the file)
    two at a time, a cue closing early rather than running past about 15 s."""
    cues: list[Cue] = []
    group: list[int] = []
    for i in range(len(parts) + 1):
        if group and (i == len(parts) or len(group) == MAX_CUE_SENTENCES
                      or (starts[i] - starts[group[0]]) > MAX_CUE_SECONDS):
            stop = starts[i] if i < len(parts) else end
            cues.append(Cue(starts[group[0]], stop, " ".join(parts[j] for j in group), speaker))
            group = []
        if i < len(parts):
            group.append(i)
    return cues


def tidy(cues: list[Cue], duration: float) -> list[Cue]:
    """In order, never overlapping, within the file, none empty."""
    out: list[Cue] = []
    for cue in sorted(cues, key=lambda c: c.start):
        start = max(cue.start, out[-1].end if out else 0.0, 0.0)
        end = min(cue.end, duration)
        if end - start < 0.05:  # squeezed out: its words join the cue before, never lost
            if out:
                out[-1].text += " " + cue.text
                continue
            end = min(start + 0.05, duration)
        out.append(Cue(round(start, 3), round(end, 3), cue.text, cue.speaker))
    return out


def clock(seconds: float, comma: bool = False) -> str:
    """HH:MM:SS.mmm (WebVTT, SMIL) or, with `comma`, HH:MM:SS,mmm (SRT)."""
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if comma else '.'}{ms:03d}"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")


def vtt(cues: list[Cue], title: str) -> str:
    lines = ["WEBVTT", "", "NOTE", _escape(" ".join(title.split())) or "Chapter", ""]
    for n, cue in enumerate(cues, 1):
        voice = f"<v {_escape(cue.speaker)}>" if cue.speaker else ""
        lines += [str(n), f"{clock(cue.start)} --> {clock(cue.end)}", voice + _escape(cue.text), ""]
    return "\n".join(lines)


def srt(cues: list[Cue]) -> str:
    lines = []
    for n, cue in enumerate(cues, 1):
        said = f"{cue.speaker}: {cue.text}" if cue.speaker else cue.text
        lines += [str(n), f"{clock(cue.start, comma=True)} --> {clock(cue.end, comma=True)}", said, ""]
    return "\n".join(lines)


def json_chapters(title: str, scenes: list[float], cover_url: str | None) -> str:
    """Podcasting 2.0 JSON chapters: the chapter's title at 0, then each scene after a break."""
    marks = [{"startTime": 0, "title": title}] + [
        {"startTime": round(t, 3), "title": f"{title}: scene {n}"} for n, t in enumerate(scenes, 2)]
    if cover_url:
        for mark in marks:
            mark["img"] = cover_url
    return json.dumps({"version": "1.2.0", "chapters": marks}, ensure_ascii=False, indent=1)
