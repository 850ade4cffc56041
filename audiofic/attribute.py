"""Attribute: who speaks each dialogue segment. Pure text work, no engines.

A sieve, most precise rule first, over paragraphs that hold dialogue (in prose, a new
speaker starts a new paragraph, so one paragraph is one speaker):

  explicit     a speech verb next to a cast name: "said Willow", "Mr. Darcy replied"
  first-person "I said" is the narrator character
  continued    a quotation carried over from the previous paragraph
  pronoun      "she said": the participant of that gender, else the last one mentioned
  vocative     the person addressed in the previous turn answers
  beat         a cast member acting in the same paragraph: "Spike shrugged. 'So?'"
  turns        in a run of dialogue paragraphs, speakers alternate
  unknown      nothing supports a guess: the generic dialogue voice reads it

Each decided segment keeps the rule's name in `segment.rule` (`script --explain`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .characters import SPEECH_VERBS, Character, NameIndex
from .model import DIALOGUE, HEADING, NARRATION, Segment, Work

_VERB = "(?:" + "|".join(sorted(set(SPEECH_VERBS), key=len, reverse=True)) + ")"
_ADVERB = r"(?:\w+ly\s+|again\s+|then\s+|now\s+|at\s+last\s+|at\s+once\s+|softly\s+|quietly\s+)"
_VERB_FIRST = re.compile(rf"^[\s,;:—–-]*(?:and\s+|then\s+)?{_ADVERB}?{_VERB}\b[\s,]*{_ADVERB}?(?:to\s+\w+\s+)?", re.I)
_FEMALE_NOUNS = ("wife lady mother mama mamma mum mom sister daughter aunt girl woman niece grandmother "
                 "bride widow queen princess maid mistress hostess governess").split()
_MALE_NOUNS = ("husband father papa dad brother son uncle boy man nephew grandfather groom king prince "
               "master host gentleman fellow lad").split()
_NOUN_GENDER = {n: "female" for n in _FEMALE_NOUNS} | {n: "male" for n in _MALE_NOUNS}
# "he", "she", "I", or a gendered description: "his wife", "the old man", "her father".
_WHO = rf"(he|she|I|(?:his|her|their|my|the|a|an)\s+(?:\w+\s+)?(?:{'|'.join(_NOUN_GENDER)}))"
_PRONOUN_AFTER_VERB = re.compile(rf"^[\s,;:—–-]*{_VERB}\s+{_WHO}\b", re.I)
_PRONOUN_BEFORE_VERB = re.compile(rf"^[\s,;:—–-]*{_WHO}\s+(?:\w+\s+)?{_ADVERB}?{_VERB}\b", re.I)
_NAME_THEN_VERB = re.compile(rf"^\s*(?:,\s*)?{_ADVERB}?(?:\w+\s+){{0,1}}{_ADVERB}?{_VERB}\b", re.I)
_TAIL_PRONOUN = re.compile(rf"\b{_WHO}\s+(?:\w+\s+){{0,2}}{_VERB}\b[^.!?\"“”]*[,:—–-]?\s*$", re.I)
_TAIL_VERB = re.compile(rf"\b{_VERB}\b[^.!?\"“”]*[,:—–-]?\s*$", re.I)
_FIRST_PERSON = re.compile(r"\b(?:I|me|my|myself)\b")
_THE = re.compile(r"^(?:the|old|young|little|poor)\s+", re.I)


@dataclass
class Turn:
    """One paragraph that holds dialogue."""

    chapter: int
    paragraph: int
    chain: int  # consecutive dialogue paragraphs share a chain (a conversation)
    segments: list[Segment]
    position: int  # source offset, for "last mentioned"
    speaker: str | None = None
    rule: str | None = None
    pronoun: str | None = None  # gender named by a pronoun tag
    continues: bool = False
    addressees: list[str] = field(default_factory=list)

    @property
    def dialogue(self) -> list[Segment]:
        return [s for s in self.segments if s.kind == DIALOGUE]

    @property
    def narration(self) -> list[Segment]:
        return [s for s in self.segments if s.kind == NARRATION]


def attribute(work: Work, cast: list[Character] | None = None, narrator: str | None = None,
              overrides: dict[tuple[int, int], str] | None = None) -> str | None:
    """Set `speaker` and `rule` on every dialogue segment of the work, in place; return the
    first-person narrator character (given, or found from how others address them)."""
    cast = cast or []
    index = NameIndex(cast)
    genders = {c.name: c.gender for c in cast}
    if narrator is None and cast and is_first_person(work):
        narrator = guess_narrator(work, index)
    turns = _turns(work)
    mentions = _mentions(work, index)
    for turn in turns:
        _explicit(turn, index, narrator)
        turn.addressees = _vocatives(turn, index)
    _propagate_continued(turns)
    for turn in turns:
        if turn.speaker is None and turn.pronoun:
            _resolve_pronoun(turn, turns, mentions, genders)
    _propagate_continued(turns)
    for i, turn in enumerate(turns):
        if turn.speaker is None:
            prev = _previous_in_chain(turns, i)
            if prev and prev.addressees:
                target = [a for a in prev.addressees if a != prev.speaker and _gender_ok(a, turn.pronoun, genders)]
                if target:
                    turn.speaker, turn.rule = target[0], "vocative"
    _propagate_continued(turns)
    for turn in turns:
        if turn.speaker is None:
            _beat(turn, index, narrator, genders)
    _propagate_continued(turns)
    _alternate(turns)
    _propagate_continued(turns)
    for turn in turns:
        for seg in turn.dialogue:
            seg.speaker, seg.rule = turn.speaker, (turn.rule if turn.speaker else "unknown")
    for (chapter_no, seg_index), speaker in (overrides or {}).items():
        segs = work.chapters[chapter_no - 1].segments if 0 < chapter_no <= len(work.chapters) else []
        if 0 <= seg_index < len(segs) and segs[seg_index].kind == DIALOGUE:
            segs[seg_index].speaker, segs[seg_index].rule = speaker, "override"
    return narrator


def _turns(work: Work) -> list[Turn]:
    turns: list[Turn] = []
    chain = 0
    for chapter in work.chapters:
        chain += 1
        by_paragraph: dict[int, list[Segment]] = {}
        for seg in chapter.segments:
            if seg.kind != HEADING:
                by_paragraph.setdefault(seg.paragraph, []).append(seg)
        last_paragraph = None
        lead_in = None
        for number in sorted(by_paragraph):
            segs = by_paragraph[number]
            if not any(s.kind == DIALOGUE for s in segs):
                long_narration = sum(len(s.text) for s in segs) > 400
                if long_narration:
                    chain += 1
                lead_in = (number, segs[-1])
                continue
            if last_paragraph is not None and number - last_paragraph > 2:
                chain += 1
            if lead_in and lead_in[0] == number - 1 and segs[0].kind == DIALOGUE:
                # "Mr. Darcy replied with great intrepidity," ends the paragraph before the quote.
                segs = [lead_in[1]] + segs
            lead_in = None
            turn = Turn(chapter.number, number, chain, segs, segs[0].start)
            turn.continues = segs[0].kind == DIALOGUE and segs[0].rule == "continued"
            turns.append(turn)
            last_paragraph = number
    return turns


def _mentions(work: Work, index: NameIndex) -> list[tuple[int, list[str]]]:
    found = []
    for chapter in work.chapters:
        for seg in chapter.segments:
            if seg.kind == NARRATION:
                for start, _end, names in index.find(seg.text):
                    found.append((seg.start + start, names))
    return found


def _name_at(text: str, index: NameIndex, at: int = 0) -> list[str] | None:
    rest = text[at:]
    lead = _THE.match(rest)
    offset = at + (lead.end() if lead else 0)
    for start, _end, names in index.find(text[offset:offset + 60]):
        if start == 0:
            return names
        break
    return None


def _explicit(turn: Turn, index: NameIndex, narrator: str | None) -> None:
    segs = turn.segments
    for i, seg in enumerate(segs):
        if seg.kind != NARRATION:
            continue
        after_quote = i > 0 and segs[i - 1].kind == DIALOGUE
        before_quote = i + 1 < len(segs) and segs[i + 1].kind == DIALOGUE
        text = seg.text
        if after_quote:
            m = _VERB_FIRST.match(text)
            if m:
                names = _name_at(text, index, m.end())
                if names:
                    return _decide(turn, names[0], "explicit")
            names = _name_at(text, index)
            if names:
                end = next(e for s, e, _ in index.find(text[:80]))
                lead = _THE.match(text)
                end += lead.end() if lead and not text.startswith(names[0]) else 0
                if _NAME_THEN_VERB.match(text[end:]):
                    return _decide(turn, names[0], "explicit")
            m = _PRONOUN_AFTER_VERB.match(text) or _PRONOUN_BEFORE_VERB.match(text)
            if m:
                return _pronoun(turn, m.group(1), narrator)
        if before_quote:
            tail = text[-120:]
            verb = _TAIL_VERB.search(tail)
            if verb:
                clause = re.split(r"[.!?;]\s+", tail[:verb.start()])[-1]
                mentions = list(index.find(clause))
                if mentions:
                    return _decide(turn, mentions[0][2][0], "explicit")
                m = _TAIL_PRONOUN.search(tail)
                if m:
                    return _pronoun(turn, m.group(1), narrator)


def _decide(turn: Turn, speaker: str, rule: str) -> None:
    turn.speaker, turn.rule = speaker, rule


def _pronoun(turn: Turn, word: str, narrator: str | None) -> None:
    if word == "I":
        if narrator:
            _decide(turn, narrator, "first-person")
        return
    word = word.lower()
    if word in ("he", "she"):
        turn.pronoun = "male" if word == "he" else "female"
    else:
        turn.pronoun = _NOUN_GENDER.get(word.split()[-1])


def _gender_ok(name: str, gender: str | None, genders: dict[str, str]) -> bool:
    return gender is None or genders.get(name, "unknown") in (gender, "unknown")


def _resolve_pronoun(turn: Turn, turns: list[Turn], mentions, genders: dict[str, str]) -> None:
    position = turns.index(turn)
    prev = _previous_in_chain(turns, position)
    participants = []
    for other in reversed(turns[:position]):
        if other.chain != turn.chain:
            break
        if other.speaker and other.speaker not in participants:
            participants.append(other.speaker)
    for other in turns[position + 1:]:
        if other.chain != turn.chain:
            break
        if other.speaker and other.speaker not in participants and other.rule == "explicit":
            participants.append(other.speaker)
    matching = [p for p in participants if genders.get(p) == turn.pronoun]
    if prev and prev.speaker in matching and len(matching) > 1:
        matching.remove(prev.speaker)
    if matching:
        return _decide(turn, matching[0], "pronoun")
    for pos, names in reversed(mentions):
        if pos >= turn.position + sum(len(s.text) for s in turn.segments) + 200:
            continue
        if pos < turn.position - 3000:
            break
        same = [n for n in names if genders.get(n) == turn.pronoun]
        if same and (not prev or same[0] != prev.speaker):
            return _decide(turn, same[0], "pronoun")


def _vocatives(turn: Turn, index: NameIndex) -> list[str]:
    """Names addressed in this turn's quotes: "Elizabeth, come here." / "…, my dear Jane."."""
    found = []
    for seg in turn.dialogue:
        text = seg.text
        for start, end, names in index.find(text):
            if not re.search(r"\w", text[:start] + text[end:]):
                continue  # "Bingley." answers a question; it addresses no one
            before, after = text[:start], text[end:end + 2]
            opening = re.fullmatch(r"\s*(?:(?:oh|ah|well|yes|no|now|my|dear|my dear|come|look|listen)[,!]?\s+)*", before,
                                   re.I)
            closing = re.search(r"(?:,|\bdear|\bmy dear)\s*$", before) and re.match(r"\s*[,.!?;—–-]|\s*$", after)
            if (opening and re.match(r"\s*[,!?.]", after)) or closing:
                found.extend(n for n in names[:1] if n not in found)
    return found


def _beat(turn: Turn, index: NameIndex, narrator: str | None, genders: dict[str, str]) -> None:
    """A cast member who is the subject of the paragraph's narration speaks its dialogue."""
    for seg in turn.narration:
        sentences = re.split(r"(?<=[.!?])\s+", seg.text)
        for sentence in sentences:
            names = _name_at(sentence, index)
            if names and _gender_ok(names[0], turn.pronoun, genders):
                return _decide(turn, names[0], "beat")
            if narrator and re.match(r"I\b", sentence):
                return _decide(turn, narrator, "beat")


def _previous_in_chain(turns: list[Turn], i: int) -> Turn | None:
    if i > 0 and turns[i - 1].chain == turns[i].chain:
        return turns[i - 1]
    return None


def _propagate_continued(turns: list[Turn]) -> None:
    for i, turn in enumerate(turns):
        if turn.continues and turn.speaker is None and i > 0 and turns[i - 1].speaker:
            _decide(turn, turns[i - 1].speaker, "continued")


def _alternate(turns: list[Turn]) -> None:
    """In a conversation, A then B then A: fill the gaps from two turns away."""
    changed = True
    while changed:
        changed = False
        for i, turn in enumerate(turns):
            if turn.speaker is not None:
                continue
            before = turns[i - 2] if i >= 2 and turns[i - 2].chain == turn.chain else None
            prev = turns[i - 1] if i >= 1 and turns[i - 1].chain == turn.chain else None
            nxt = turns[i + 1] if i + 1 < len(turns) and turns[i + 1].chain == turn.chain else None
            after = turns[i + 2] if i + 2 < len(turns) and turns[i + 2].chain == turn.chain else None
            guess = None
            if before and prev and before.speaker and prev.speaker and before.speaker != prev.speaker:
                guess = before.speaker
            elif after and nxt and after.speaker and nxt.speaker and after.speaker != nxt.speaker:
                guess = after.speaker
            elif prev and prev.speaker and nxt and nxt.speaker and prev.speaker == nxt.speaker:
                others = [t.speaker for t in turns if t.chain == turn.chain and t.speaker not in (None, prev.speaker)]
                if others:
                    guess = Counter(others).most_common(1)[0][0]
            if guess is None and prev and prev.speaker:
                guess = _other_speaker(turns, i, prev.speaker, -1)
            if guess is None and nxt and nxt.speaker:
                guess = _other_speaker(turns, i, nxt.speaker, +1)
            if guess:
                _decide(turn, guess, "turns")
                changed = True


def _other_speaker(turns: list[Turn], i: int, exclude: str, step: int, reach: int = 6) -> str | None:
    """The nearest speaker in the same conversation who is not `exclude`."""
    j = i + step
    while 0 <= j < len(turns) and abs(j - i) <= reach and turns[j].chain == turns[i].chain:
        if turns[j].speaker and turns[j].speaker != exclude:
            return turns[j].speaker
        j += step
    return None


def is_first_person(work: Work) -> bool:
    """Narration that says "I" often enough is told by one of the characters."""
    words = firsts = 0
    for chapter in work.chapters:
        for seg in chapter.segments:
            if seg.kind == NARRATION:
                words += len(seg.text.split())
                firsts += len(_FIRST_PERSON.findall(seg.text))
    return words > 0 and firsts / words > 0.015


def guess_narrator(work: Work, index: NameIndex) -> str | None:
    """The first-person narrator is the one others address but who is never tagged "said X"."""
    addressed: Counter = Counter()
    tagged: Counter = Counter()
    for chapter in work.chapters:
        for seg in chapter.segments:
            if seg.kind == DIALOGUE:
                probe = Turn(0, 0, 0, [seg], seg.start)
                for name in _vocatives(probe, index):
                    addressed[name] += 1
            elif seg.kind == NARRATION:
                for m in re.finditer(rf"\b{_VERB}\s+", seg.text):
                    names = _name_at(seg.text, index, m.end())
                    if names:
                        tagged[names[0]] += 1
    scored = sorted(((addressed[n] - 2 * tagged[n], n) for n in addressed), reverse=True)
    if scored and scored[0][0] > 0:
        return scored[0][1]
    return None
