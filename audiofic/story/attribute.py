"""Attribute: who speaks each dialogue segment. Pure text work, no engines.

A sieve, most precise rule first, over paragraphs that hold dialogue (in prose, a new
speaker starts a new paragraph, so one paragraph is one speaker):

  explicit     a speech verb next to a cast name: "said Willow", "Mr. Darcy replied"; before the
               quote, the verb's subject ("Tobias put down his cup, and when Ines had gone, said:")
  first-person "I said" is the narrator character
  continued    a quotation carried over from the previous paragraph
  pronoun      "she said": the participant of that gender, else the last one mentioned; "said
               her mother" is not the one "her" is (and, in a cast that writes titles, a
               "Mrs."); "he heard her say" is hers
  beat         a cast member acting in the same paragraph, or the one just before: "Spike
               shrugged. 'So?'"
  vocative     the person addressed in the previous turn ("Tobias, …", or "said Mara to Tobias",
               "Mara asked Tobias") answers, unless a paragraph of its
               own has them answer with a nod or a silence ("Spike nodded.", "He made no
               answer."): then the one who asked goes on
  turns        in a run of dialogue paragraphs, speakers alternate (a nod takes a turn, and the
               one who shakes their head right after a line was asked it); with
               one speaker known, the other is whoever the narration just named
               (and, left open: a line that calls one of the only two people in the scene, or
               of the two who have been talking, by name is the other's)
  pov          a line nothing else decides, in a scene told from one character's head (its
               "he"s or "she"s at least twice the other kind): that character's (thoughts, mostly)
  described    a speaker known by a description ("cried the guard", "a voice called", "his mother"
               in a cast without titles), or a stranger the narration brings in just before an
               exchange ("some drunken buffoon"): someone the cast does not name; turn-taking
               counts them; the dialogue voice reads them, or one of their own where casting
               gives them one (Attribution.described, Attribution.apply)
  unknown      nothing supports a guess: the generic dialogue voice reads it

  voice        whose voice the narration hears: "Angel's voice was soft", "she heard Xander sigh"
               ("she heard Angel's voice" before a line: Angel said the line before it)
  self         the line says who speaks: "It's me, Willow."
  reader       "you said" in a reader-insert work: the reader (a cast member called Reader or Y/N)
  quoted       a few words quoted inside a sentence of narration (scare quotes), or narration
               caught between quote marks never closed ("…, she concluded."): the narrator's
  chat         a chat or text-message log's `Sender: message` line: its sender (segment.py)

A paragraph holding two speakers' words ('"…!" said Tobias, and Mara called out, "…"') gives
each quote to its own tag. Two checks run through every rule but the explicit ones: nobody
calls themselves by name (a line that says "Spike, …" is not Spike's), and a chapter told in
the first person has its own narrator character even inside a third-person work. Each
decided segment keeps the rule's name in `segment.rule`; `script --explain` shows it with the
rule's confidence (CONFIDENCE).
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections import Counter
from dataclasses import dataclass, field

from . import rank
from .characters import (NOUN_GENDER, REPLY_GESTURES, SPEECH_VERB_SET, SPEECH_VERBS, TITLES, Character, NameIndex,
                         chat_sender)
from ..model import DIALOGUE, HEADING, NARRATION, Segment, Work

_VERB = "(?:" + "|".join(v.replace(" ", r"\s+") for v in sorted(set(SPEECH_VERBS), key=len, reverse=True)) + ")"
_ADVERB = r"(?:\w+ly\s+|again\s+|then\s+|now\s+|at\s+last\s+|at\s+once\s+|softly\s+|quietly\s+)"
_VERB_FIRST = re.compile(rf"^[\s,;:—–-]*(?:and\s+|then\s+)?{_ADVERB}?{_VERB}\b[\s,]*{_ADVERB}?(?:to\s+\w+\s+)?", re.I)
# "he", "she", "I", or a gendered description: "his wife", "the old man", "her father".
_WHO = rf"(he|she|I|you|(?:his|her|their|my|the|a|an)\s+(?:\w+\s+)?(?:{'|'.join(NOUN_GENDER)}))"
# Someone the cast does not name, known by what they are: "said the guard", "a voice called".
# Minor parts only: "the captain" or "the doctor" is as often a main character the cast names.
_ROLES = ("guard guards waiter waitress bartender barman barmaid driver cabman coachman porter doorman footman butler "
          "servant clerk policeman constable soldier sentry nurse landlord landlady stranger voice voices newcomer "
          "visitor cashier receptionist operator shopkeeper salesman saleswoman attendant conductor messenger jailer "
          "crowd").split()
_DESCRIBED = rf"(?:the|a|an|another|one\s+of\s+the)\s+(?:[a-z-]+\s+){{0,2}}?(?:{'|'.join(_ROLES)})\b"
_DESCRIBED_AFTER_VERB = re.compile(rf"^[\s,;:—–-]*{_VERB}\s+({_DESCRIBED})", re.I)
_DESCRIBED_BEFORE_VERB = re.compile(rf"^[\s,;:—–-]*({_DESCRIBED})\s+(?:\w+ly\s+)?{_VERB}\b", re.I)
_PRONOUN_AFTER_VERB = re.compile(rf"^[\s,;:—–-]*{_VERB}\s+{_WHO}\b", re.I)
_PRONOUN_BEFORE_VERB = re.compile(rf"^[\s,;:—–-]*{_WHO}\s+(?:\w+\s+)?{_ADVERB}?{_VERB}\b", re.I)
_NAME_THEN_VERB = re.compile(rf"^\s*(?:,\s*)?{_ADVERB}?(?:\w+\s+){{0,1}}{_ADVERB}?{_VERB}\b", re.I)
_HEARD_PRONOUN = re.compile(rf"^[\s,;:—–-]*(?:he|she|I|you|we|they)\s+(?:\w+ly\s+)?(?:could\s+)?(?:hear|heard|hears|"
                            rf"listened\s+to|watched)\s+(him|her)\s+(?:\w+ly\s+)?{_VERB}\b", re.I)
_TAIL_PRONOUN = re.compile(rf"\b{_WHO}\s+(?:\w+\s+){{0,2}}{_VERB}\b[^.!?\"“”]*[,:—–-]?\s*$", re.I)
_TAIL_SAYING = re.compile(r"\b(?:saying|adding|asking|replying|answering|calling|whispering|muttering|shouting)\b"
                          r"[^.!?\"“”]*[,:—–-]\s*$", re.I)
_TAIL_VERB = re.compile(rf"\b{_VERB}\b[^.!?\"“”]*[,:—–-]?\s*$", re.I)
_FIRST_PERSON = re.compile(r"\b(?:I|me|my|myself)\b")
# A paragraph that ends "…and Mrs. Hurst began again." introduces the next one's quote.
# A paragraph of its own that ends in a nod says who listened, not who speaks next; nor does
# "…and began massaging the muscle" or "continued to stare".
_SPOKEN = ("(?:" + "|".join(v.replace(" ", r"\s+") for v in sorted(set(SPEECH_VERBS) - set(REPLY_GESTURES), key=len, reverse=True))
           + r")\b(?!\s+(?:to\s+\w|\w+ing\b))")
_LEAD_IN_VERB = re.compile(rf"\s+(?:\w+\s+){{0,2}}{_SPOKEN}(?:\s+[a-z]+){{0,4}}[.,:;—–-]*\s*$", re.I)
_LEAD_IN_ANY = re.compile(rf"\b{_SPOKEN}(?:\s+[a-z]+){{0,4}}[.,:;—–-]*\s*$", re.I)
_BY_NAME = re.compile(rf"\b(?:{_VERB}|accosted|addressed|interrupted|answered)\s+(?:\w+\s+)?by\s+(\S.*?)[,:—–-]?\s*$", re.I)
_WAS_ANSWER = re.compile(r"^[\s,]*(?:came|was)\s+(his|her)\s+(?:\w+\s+)?(?:answer|reply|response|retort)\b", re.I)
_THE = re.compile(r"^(?:the|old|young|little|poor)\s+", re.I)
# Sentence ends, but not after the titles before a name ("Mr.\nBennet coolly observed,").
_ABBREVIATIONS = "".join(rf"(?<!\b{a}\.)" for a in ("Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Capt", "Col", "Gen",
                                                     "Prof", "Rev", "Hon", "Lt", "Sgt"))
_SENTENCE_END = re.compile(rf"(?<=[.!?;]){_ABBREVIATIONS}\s+")


# How far each rule's choice can be trusted, from how often it was right on the development sets
# (fan fiction and novels together, benchmarks/attribution.py): high is right 49 times in 50 or
# more (explicit 0.98, first-person 1.00), medium about 4 in 5 (pronoun 0.80, vocative 0.82),
# low 3 in 4 or less (turns 0.74, beat 0.67; a described speaker is one no cast voice is for).
CONFIDENCE = {"override": "high", "chat": "high", "explicit": "high", "first-person": "high", "self": "high",
              "reader": "high",
              "continued": "medium", "quoted": "medium", "pronoun": "medium", "vocative": "medium", "voice": "medium",
              "ranked": "medium", "beat": "low", "turns": "low", "pov": "low", "described": "low", "unknown": "none"}


DESCRIBED_MARK = "\u2063"  # before a described speaker's name while the sieve runs: no cast name starts so


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
    kin: str | None = None  # a relation the tag names: "mother" in "said her mother"
    kin_other: bool = False  # of the same sex as "her": somebody else than the one "her" is
    kin_phrase: str | None = None  # "his mother": the tag's words, for a relative the cast does not name
    continues: bool = False
    addressees: list[str] = field(default_factory=list)
    lead_in: Segment | None = None  # the narration paragraph just before, for its tag only

    _at: dict[int, int] | None = field(default=None, repr=False, compare=False)

    @property
    def dialogue(self) -> list[Segment]:
        return [s for s in self.segments if s.kind == DIALOGUE]

    def at(self, seg: Segment) -> int:
        """Where `seg` is in the paragraph, found in constant time (a paragraph may hold thousands)."""
        if self._at is None or len(self._at) != len(self.segments):
            self._at = {id(s): i for i, s in enumerate(self.segments)}
        return self._at[id(seg)]

    @property
    def narration(self) -> list[Segment]:
        return [s for s in self.segments if s.kind == NARRATION]


@dataclass
class Attribution:
    """Who says each line: (speaker, rule) by (chapter index, segment index) for every segment
    attribution decided, and the first-person narrator character (given, or found from how
    the others address them). The work it was made from is never changed."""

    narrator: str | None
    lines: dict[tuple[int, int], tuple[str | None, str | None]]
    described: dict[tuple[int, int], str] = dataclasses.field(default_factory=dict)  # "the drunken buffoon"

    def apply(self, work: Work, voiced: set[str] = frozenset()) -> Work:
        """The work with every decided segment's speaker and rule set: a new Work. A described
        speaker is named on their lines only where casting gives them a voice (`voiced`)."""
        chapters = []
        for c, chapter in enumerate(work.chapters):
            segments = [dataclasses.replace(seg, speaker=self._speaker(c, i, voiced), rule=self.lines[c, i][1])
                        if (c, i) in self.lines else seg for i, seg in enumerate(chapter.segments)]
            chapters.append(dataclasses.replace(chapter, segments=segments))
        return dataclasses.replace(work, chapters=chapters)

    def _speaker(self, c: int, i: int, voiced: set[str] = frozenset()) -> str | None:
        return self.described[c, i] if self.described.get((c, i)) in voiced else self.lines[c, i][0]


@dataclass
class _Sieve:
    """What every rule reads: the turns, the cast's names and genders, who says "I" in each
    chapter, every mention of a cast name, and the segments decided outside the turns."""

    work: Work
    index: NameIndex
    genders: dict[str, str]
    narrator: str | None
    narrators: dict[int, str]
    turns: list[Turn]
    mentions: "_Mentions"
    decided: dict[int, tuple[str | None, str | None]]  # id(segment) → (speaker, rule)


def attribute(work: Work, cast: list[Character] | None = None, narrator: str | None = None,
              overrides: dict[tuple[int, int], str] | None = None, collect: list | None = None) -> Attribution:
    """Who speaks each dialogue segment of the work: the sieve's rules, most precise first,
    each followed by carrying a quotation's speaker over its paragraphs; then, where it is
    switched on, the learned ranker for what is left. `collect` (for training the ranker)
    receives each open line's turn and candidates instead."""
    sieve = _sieve(work, cast or [], narrator)
    for rule in (_tags_and_names, _pronouns, _beats, _answers, _turn_taking, _the_other_of_two, _point_of_view_left):
        rule(sieve)
        _propagate_continued(sieve.turns)
    _ranked(sieve, collect)
    return _verdicts(sieve, overrides or {})


def _sieve(work: Work, cast: list[Character], narrator: str | None) -> _Sieve:
    index = NameIndex(cast)
    if narrator is None and cast and is_first_person(work.chapters):
        narrator = guess_narrator(work.chapters, index)
    narrators = _chapter_narrators(work, index, narrator) if cast else {}
    decided = {id(seg): (chat_sender(seg.speaker, index), seg.rule)
               for chapter in work.chapters for seg in chapter.segments if seg.rule == "chat"}
    return _Sieve(work, index, {c.name: c.gender for c in cast}, narrator, narrators, _turns(work, decided),
                  _mentions(work, index), decided)


def _tags_and_names(sieve: _Sieve) -> None:
    """explicit and first-person tags, whom each line calls or a tag says it is spoken to,
    a line that names its speaker (self), whose voice the narration hears, a pronoun beat."""
    turns, index = sieve.turns, sieve.index
    for position, turn in enumerate(turns):
        _explicit(turn, index, sieve.narrators.get(turn.chapter))
        turn.addressees = _vocatives(turn, index)
        turn.addressees += [n for n in _told(turn, index) if n not in turn.addressees and n != turn.speaker]
        if turn.speaker is None and turn.pronoun is None:
            _named_self(turn, index)
        if turn.speaker is None and turn.pronoun is None:
            heard = _voice_of(turn, index)
            prev = _previous_in_chain(turns, position)
            if heard and prev and prev.speaker is None and heard not in prev.addressees:
                _decide(prev, heard, "voice")  # "…when she heard Angel's voice.": Angel said the line before
        if turn.speaker is None and turn.pronoun is None:
            _pronoun_beat(turn, index)


def _pronouns(sieve: _Sieve) -> None:
    """pronoun: "she said" is the participant of that gender."""
    for position, turn in enumerate(sieve.turns):
        if turn.speaker is None and turn.pronoun:
            _resolve_pronoun(position, sieve.turns, sieve.mentions, sieve.genders, sieve.narrators.get(turn.chapter),
                             sieve.index)


def _beats(sieve: _Sieve) -> None:
    """beat: someone acting there outweighs who was addressed ("Willow forced a smile. '…'")."""
    for turn in sieve.turns:
        if turn.speaker is None and not turn.continues:
            _beat(turn, sieve.index, sieve.narrators.get(turn.chapter), sieve.genders)


def _answers(sieve: _Sieve) -> None:
    """vocative: the one the line before called answers; after a nod or a silence, the one who
    asked goes on; talking to the same listener again, the same speaker goes on."""
    turns, genders = sieve.turns, sieve.genders
    for i, turn in enumerate(turns):
        if turn.speaker is not None or turn.continues:  # a carried-over quotation keeps its speaker
            continue
        prev = _previous_in_chain(turns, i)
        if not (prev and prev.addressees):
            continue
        target = [a for a in prev.addressees if a != prev.speaker and a not in turn.addressees
                  and _gender_ok(a, turn.pronoun, genders)]
        if target and _answered_by_gesture(turn, sieve.index, sieve.narrators.get(turn.chapter)) in ("", target[0]):
            # "Spike, shall we start again?" / "Spike nodded." / "Good!": the one who asked goes on.
            if prev.speaker and prev.speaker not in turn.addressees:
                turn.speaker, turn.rule = prev.speaker, "vocative"
        elif target:
            turn.speaker, turn.rule = target[0], "vocative"
        elif (prev.speaker and prev.speaker not in turn.addressees and set(prev.addressees) & set(turn.addressees)
              and _gender_ok(prev.speaker, turn.pronoun, genders)):
            # Talking to the same listener again: the same speaker goes on ("Spike, …" / "Spike, …").
            turn.speaker, turn.rule = prev.speaker, "vocative"


def _turn_taking(sieve: _Sieve) -> None:
    """turns: A, then B, then A."""
    _alternate(sieve.turns, sieve.index, sieve.narrators, sieve.mentions, sieve.genders, sieve.work.source)


def _the_other_of_two(sieve: _Sieve) -> None:
    """turns, left open: a line that calls one of the only two people in the scene is the other's
    (the two the narration names, or else the two who have been talking)."""
    for i, turn in enumerate(sieve.turns):
        if turn.speaker is None and not turn.continues and turn.addressees:
            _the_other_one(turn, sieve.mentions, sieve.genders)
            if turn.speaker is None:
                _the_other_talker(sieve.turns, i, sieve.genders)


def _the_other_talker(turns: list[Turn], i: int, genders: dict[str, str], lines: int = 4, reach: int = 3000) -> None:
    """"It's late, Spike." after a scene's last few lines were all Willow's and Spike's, with
    narration between them: the one of those two the line does not call."""
    turn = turns[i]
    recent = [t.speaker for t in reversed(turns[:i]) if t.chapter == turn.chapter
              and turn.position - t.position <= reach and t.speaker][:lines]
    talkers = set(recent)
    if len(recent) >= 2 and len(talkers) == 2 and turn.addressees[0] in talkers:
        other = next(iter(talkers - {turn.addressees[0]}))
        if other not in turn.addressees and _gender_ok(other, turn.pronoun, genders):
            _decide(turn, other, "vocative")


def _point_of_view_left(sieve: _Sieve) -> None:
    """pov: what is left, in a scene told from one head, is most likely that head's."""
    for turn in sieve.turns:
        if turn.speaker is None and not turn.continues:
            who = _point_of_view(turn.position, sieve.mentions, sieve.genders, sieve.work.source)
            if who and who not in turn.addressees and _gender_ok(who, turn.pronoun, sieve.genders):
                _decide(turn, who, "pov")


def _ranked(sieve: _Sieve, collect: list | None) -> None:
    """ranked: the learned ranker (off unless its weights are switched on) for open lines."""
    model = rank.weights()
    if not model and collect is None:
        return
    turns = sieve.turns
    for i, turn in enumerate(turns):
        if turn.rule in rank.OPEN_RULES and not turn.continues:
            found = rank.candidates(turns, i, sieve.mentions, sieve.index, sieve.narrators.get(turn.chapter),
                                    sieve.genders)
            if collect is not None:
                collect.append((turn, found))
                continue
            best, _p = rank.choose(found, model)
            turn.speaker, turn.rule = (best, "ranked") if best else (None, None)
    _propagate_continued(turns)


def _verdicts(sieve: _Sieve, overrides: dict[tuple[int, int], str]) -> Attribution:
    """Each turn's speaker on its dialogue segments (a quote with its own tag keeps it; scare
    quotes are nobody's), thoughts to the point-of-view character, and the user's pins last."""
    decided, work, described = sieve.decided, sieve.work, {}
    for chapter in work.chapters:  # *italic thoughts* are the point-of-view character's
        for seg in chapter.segments:
            if seg.style == "thought":
                who = sieve.narrators.get(chapter.number) or _point_of_view(seg.start, sieve.mentions, sieve.genders,
                                                                             work.source)
                decided[id(seg)] = (who, decided.get(id(seg), (seg.speaker, seg.rule))[1])
    for turn in sieve.turns:
        description = None
        if turn.speaker and turn.speaker.startswith(DESCRIBED_MARK):  # "the guard": a distinct speaker no
            description = turn.speaker[1:]                              # cast name is for: the dialogue voice,
            turn.speaker, turn.rule = None, "described"                 # or one of their own (Attribution.apply)
        for seg in turn.dialogue:
            verdict = (turn.speaker, turn.rule if turn.speaker or turn.rule == "described" else "unknown")
            if _quoted_words(seg, turn) or _NARRATION_IN_QUOTES.match(seg.text):
                verdict = (None, "quoted")  # read by the narrator: nobody says it
            elif (own := _own_tag(turn, seg, sieve.index)) and own != turn.speaker:
                verdict = (own, "explicit")  # two speakers in one paragraph, each tagged
            decided[id(seg)] = verdict
            if description and verdict == (None, "described"):
                described[id(seg)] = description
    lines, descriptions = {}, {}
    for c, chapter in enumerate(work.chapters):
        for i, seg in enumerate(chapter.segments):
            if id(seg) in decided:
                lines[c, i] = decided[id(seg)]
            if id(seg) in described:
                descriptions[c, i] = described[id(seg)]
            if (c + 1, i) in overrides and seg.kind == DIALOGUE:
                lines[c, i] = (overrides[c + 1, i], "override")
    return Attribution(sieve.narrator, lines, descriptions)


def _turns(work: Work, decided: dict[int, tuple[str | None, str | None]]) -> list[Turn]:
    """The paragraphs that hold dialogue; scare quotes alone take no turn (decided: nobody's)."""
    turns: list[Turn] = []
    chain = 0
    for chapter in work.chapters:
        chain += 1
        by_paragraph: dict[int, list[Segment]] = {}
        for seg in chapter.segments:
            if seg.kind != HEADING and seg.rule != "chat":  # a chat message's sender is given
                by_paragraph.setdefault(seg.paragraph, []).append(seg)
        last_paragraph = None
        lead_in = None
        for number in sorted(by_paragraph):
            segs = by_paragraph[number]
            own = Turn(chapter.number, number, chain, segs, segs[0].start)
            if all(_quoted_words(s, own) for s in own.dialogue):  # scare quotes only: narration, no turn
                for seg in own.dialogue:
                    decided[id(seg)] = (None, "quoted")
            if not any(s.kind == DIALOGUE and id(s) not in decided for s in segs):
                long_narration = sum(len(s.text) for s in segs) > 400
                if long_narration:
                    chain += 1
                lead_in = (number, segs[-1])
                continue
            if last_paragraph is not None and number - last_paragraph > 2:
                chain += 1
            continues = segs[0].kind == DIALOGUE and segs[0].rule == "continued"
            before = None
            if lead_in and lead_in[0] == number - 1 and segs[0].kind == DIALOGUE:
                # "Mr. Darcy replied with great intrepidity," ends the paragraph before the quote.
                before = lead_in[1]
                segs = [before] + segs
            lead_in = None
            if segs[-1].kind == NARRATION and re.search(r"[,:—–-]\s*$", segs[-1].text):
                lead_in = (number, segs[-1])  # '…" But Mr. Collins laid aside his book, and said,'
            turn = Turn(chapter.number, number, chain, segs, segs[0].start)
            turn.lead_in = before
            turn.continues = continues
            turns.append(turn)
            last_paragraph = number
    return turns


class _Mentions(list):
    """(position, names) in text order, with the positions alone for bisecting."""

    def __init__(self, found):
        super().__init__(sorted(found, key=lambda m: m[0]))
        self.positions = [pos for pos, _names in self]

    def between(self, start: int, end: int) -> list:
        """The mentions from `start` up to, not including, `end`, in text order."""
        return self[bisect.bisect_left(self.positions, start):bisect.bisect_left(self.positions, end)]


def _mentions(work: Work, index: NameIndex) -> _Mentions:
    found = []
    for chapter in work.chapters:
        for seg in chapter.segments:
            if seg.kind == NARRATION:
                for start, _end, names in index.find(seg.text):
                    found.append((seg.start + start, names))
    return _Mentions(found)


def _name_at(text: str, index: NameIndex, at: int = 0) -> list[str] | None:
    found = _mention_at(text, index, at)
    return found[0] if found else None


def _mention_at(text: str, index: NameIndex, at: int = 0) -> tuple[list[str], int] | None:
    """The cast names mentioned right at `at` ("the Hatter" counts, and "the cook" for a cast
    name "The Cook"), and where the mention ends."""
    lead = _THE.match(text[at:])
    for offset in dict.fromkeys((at, at + (lead.end() if lead else 0))):
        for start, end, names in index.find(text[offset:offset + 60]):
            if start == 0:
                return names, offset + end
            break
    return None


def _explicit(turn: Turn, index: NameIndex, narrator: str | None) -> None:
    """The paragraph's own tags first; the paragraph before only when it has none."""
    segs = turn.segments
    order = [i for i, seg in enumerate(segs) if seg is not turn.lead_in] + [0] * (turn.lead_in is not None)
    for i in order:
        seg = segs[i]
        if seg.kind != NARRATION:
            continue
        tag = None
        if i > 0 and segs[i - 1].kind == DIALOGUE:
            tag = _tag_after(seg.text, index)
        if tag is None and i + 1 < len(segs) and segs[i + 1].kind == DIALOGUE:
            tag = _tag_before(seg.text, index, seg is turn.lead_in)
        if tag:
            kind, who = tag
            if kind == "pronoun":
                return _pronoun(turn, who, narrator, index.reader)
            return _decide(turn, _described(who) if kind == "described" else who,
                           "described" if kind == "described" else "explicit")


def _tag_after(text: str, index: NameIndex) -> tuple[str, str] | None:
    """A tag right after a quote: ("name", "Willow") for "said Willow" or "Willow said",
    ("pronoun", "she") for "she said" or "said his wife", ("described", "the guard")."""
    m = _VERB_FIRST.match(text)
    if m and (names := _name_at(text, index, m.end())):
        return "name", names[0]
    found = _mention_at(text, index)
    if found and _NAME_THEN_VERB.match(text[found[1]:]):
        return "name", found[0][0]
    m = _HEARD_PRONOUN.match(text)  # "…," he heard her say: she speaks, not he
    if m:
        return "pronoun", "he" if m.group(1).lower() == "him" else "she"
    m = _PRONOUN_AFTER_VERB.match(text) or _PRONOUN_BEFORE_VERB.match(text)
    if m:
        return "pronoun", m.group(1)
    m = _DESCRIBED_AFTER_VERB.match(text) or _DESCRIBED_BEFORE_VERB.match(text)
    if m:
        return "described", m.group(1)
    m = _WAS_ANSWER.match(text)  # "…," was his unemotional answer.
    if m:
        return "pronoun", "he" if m.group(1).lower() == "his" else "she"
    return None


def _tag_before(text: str, index: NameIndex, lead_in: bool = False) -> tuple[str, str] | None:
    """A tag that ends the narration before a quote: "Willow turned and whispered," (a
    paragraph of its own before the quote, `lead_in`, may also end "…and Mrs. Hurst began again.")."""
    tail = text[-200:]
    verb = _TAIL_VERB.search(tail) or (_LEAD_IN_ANY.search(tail) if lead_in else None)
    if verb and re.match(r"\s*nothing\b", tail[verb.end():] if verb.end() < len(tail) else "") or (
            verb and re.search(r"\bsaid\s+nothing\b", tail)):
        verb = None  # "…but said nothing."
    if verb is None and lead_in:
        last = _SENTENCE_END.split(tail.rstrip())[-1]
        found = _mention_at(last, index)
        if found and _LEAD_IN_VERB.match(last[found[1]:]):
            return "name", found[0][0]
        who = re.match(r"\s*(he|she|I)\b", last, re.I)
        if who and _LEAD_IN_VERB.match(last[who.end():]):
            return "pronoun", who.group(1)
    by = _BY_NAME.search(tail)
    if by and (found := _mention_at(tail, index, by.start(1))):
        return "name", found[0][0]  # "thus accosted by Miss Bingley,"
    saying = _TAIL_SAYING.search(tail)  # "…and he walked off, saying,"
    if saying and (verb is None or saying.start() > verb.start()):
        verb = saying
    if verb is None:
        return None
    while (later := _TAIL_VERB.search(tail, verb.start() + 1)) and later.start() > verb.start():
        verb = later  # "Though Mara would not have answered that, she could not help but say,"
    subject = _tag_subject(_CLAUSE_END.split(tail[:verb.start()])[-1], index)
    if subject:
        return subject
    m = _TAIL_PRONOUN.search(tail)  # "…, her mother said,"
    return ("pronoun", m.group(1)) if m else None


def _own_tag(turn: Turn, seg: Segment, index: NameIndex) -> str | None:
    """The name a quote's own tag gives, right before it ("…, and Alice called out,") or right
    after it ('"…," said the Rabbit.'): a paragraph may hold more than one speaker's words."""
    at = turn.at(seg)
    before = turn.segments[at - 1] if at > 0 and turn.segments[at - 1] is not turn.lead_in else None
    after = turn.segments[at + 1] if at + 1 < len(turn.segments) else None
    tag = _tag_before(before.text, index) if before is not None and before.kind == NARRATION else None
    if tag is None and after is not None and after.kind == NARRATION:
        tag = _tag_after(after.text, index)
    return tag[1] if tag and tag[0] == "name" else None


_CLAUSE_END = re.compile(rf"(?<=[.!?]){_ABBREVIATIONS}(?:\s+|--|—)")
_CHUNK = re.compile(r"\s*(?:[,;:—–]|--|\band\b|\bbut\b)\s*")
# A chunk of a clause that cannot hold the speaking verb's subject: a subordinate or relative
# clause ("when Ines had gone"), a participle ("turning to Ines", "wanting Tobias gone").
_SUBORDINATE = re.compile(r"(?:and\s+|but\s+)?(?:when|while|whilst|as|after|before|till|until|if|though|although|since|"
                          r"because|where|(?:\w+\s+)?(?:whom|whose|which)|that|\w+ing)\b", re.I)
_SUBJECT_PRONOUN = re.compile(r"\b(he|she|I|it|they)\b")


def _tag_subject(clause: str, index: NameIndex) -> tuple[str, str] | None:
    """Who does the speaking verb that ends `clause`: the name or pronoun right before it
    ("…heard Tobias say"), else the subject of the last main-clause chunk ("Wanting Tobias
    gone, she turned to him and said": she; "Tobias put down his cup, and when Ines had gone,
    said": Tobias; "…met at the gate by Ines, who, taking her arm, whispered": Ines)."""
    found = [(start, end, "name", names[0]) for start, end, names in index.find(clause)]
    taken = [(a, b) for a, b, _k, _w in found]
    found += [(m.start(), m.end(), "pronoun", m.group(1)) for m in _SUBJECT_PRONOUN.finditer(clause)
              if not any(a <= m.start() < b for a, b in taken)]
    if not found:
        return None
    found.sort()
    if re.fullmatch(r"\s*(?:\w+ly\s+)?", clause[found[-1][1]:]):
        return found[-1][2], found[-1][3]
    subject, chunks_seen = None, set()
    for start, end, kind, who in found:
        here = max([0] + [m.end() for m in _CHUNK.finditer(clause, 0, start)])
        if re.match(r"\s*,\s*who\b", clause[end:], re.I):
            subject = (kind, who)  # "…by Ines, who, taking her arm, whispered": Ines
        if here in chunks_seen:
            continue  # only a chunk's first name or pronoun can be its subject: "the Rabbit noticed Alice"
        chunks_seen.add(here)
        chunk = clause[here:start]
        if not (_SUBORDINATE.match(chunk) or _NOT_ACTOR_BEFORE.search(chunk) or re.search(r"\b[a-z]+ing\s+$", chunk)
                or re.match(r"[’'`]s\b", clause[end:])):
            subject = (kind, who)
    return subject


def _described(phrase: str) -> str:
    """The speaker a description names, as a name no cast member has: "the guard"."""
    return DESCRIBED_MARK + re.sub(r"^(?:an?|another|some|one\s+of\s+the)\s+", "the ", " ".join(phrase.lower().split()))


def _decide(turn: Turn, speaker: str, rule: str) -> None:
    turn.speaker, turn.rule = speaker, rule


def _pronoun(turn: Turn, word: str, narrator: str | None, reader: str | None = None) -> None:
    if word == "I":
        if narrator:
            _decide(turn, narrator, "first-person")
        return
    if word.lower() == "you":  # reader-insert: "you said" is the reader's line, never a named character's
        if reader:
            _decide(turn, reader, "reader")
        return
    word = word.lower()
    if word in ("he", "she"):
        turn.pronoun = "male" if word == "he" else "female"
    else:
        turn.pronoun = NOUN_GENDER.get(word.split()[-1])
        if word.split()[0] in ("his", "her", "their"):
            turn.kin = word.split()[-1]
            turn.kin_phrase = word
            # "her mother", "his brother": the one "her" or "his" is, is not the speaker
            turn.kin_other = {"his": "male", "her": "female"}.get(word.split()[0]) == turn.pronoun


_MARRIED_TITLES = ("Mrs.", "Mrs", "Madame", "Mme", "Mme.", "Lady")
_KIN_TITLES = {noun: _MARRIED_TITLES for noun in ("mother", "mama", "mamma", "mum", "mom", "wife", "aunt", "widow",
                                                    "grandmother")}


def _title_fits(name: str, kin: str) -> bool:
    """A mother, a wife or an aunt is, in a cast that writes titles, a "Mrs." or a "Madame"."""
    return name.split()[0] in _KIN_TITLES.get(kin, ())


def _gender_ok(name: str, gender: str | None, genders: dict[str, str]) -> bool:
    return gender is None or genders.get(name, "unknown") in (gender, "unknown")


def _resolve_pronoun(position: int, turns: list[Turn], mentions, genders: dict[str, str], narrator: str | None,
                     index: NameIndex) -> None:
    """"He said" is never the first-person narrator, who says "I said". Work per turn is
    bounded by its conversation, never by the length of the book."""
    turn = turns[position]
    prev = _previous_in_chain(turns, position)
    if turn.addressees:  # nobody calls themselves by name
        genders = {n: g for n, g in genders.items() if n not in turn.addressees}
    # 1. Someone of that gender acting in this paragraph or the one just before, before the quote
    #    (not "…handed it to Mara", not "Mara's letter"): "Sir William only smiled. '…' he continued."
    actors = _actors(turn, index, genders, narrator)
    if turn.kin:
        if turn.kin_other:  # "said her mother" is not "her": whom this line or the last one calls, else
            # the first one acting here, else the one who spoke last
            her = turn.addressees or actors[:1] or ([prev.speaker] if prev and prev.speaker else [])
            kin_of = set(her) | set(prev.addressees if prev else [])
            genders = {n: g for n, g in genders.items() if n not in kin_of}
        titled = {n for n in genders if _title_fits(n, turn.kin)}
        if titled:  # and, where the cast writes titles, a mother is a "Mrs."
            genders = {n: g for n, g in genders.items() if n in titled}
        elif turn.kin_phrase and not any(n.split()[0] in TITLES for n in index.gender):
            # "his mother", in a cast that writes no titles (as fans write theirs): a relative the
            # cast does not name, never the named woman who happens to be in the scene
            return _decide(turn, _described(turn.kin_phrase), "described")
        actors = [a for a in actors if a in genders]
    if actors:
        return _decide(turn, actors[0], "pronoun")
    # 2. The one the last turn spoke to: "'…at Pemberley, Mr. Darcy!' / 'It ought to be,' he replied".
    if prev and not turn.kin_other:
        for name in prev.addressees:
            if genders.get(name) == turn.pronoun and name != prev.speaker and name != narrator:
                return _decide(turn, name, "pronoun")
    participants = []
    for i in range(position - 1, -1, -1):
        other = turns[i]
        if other.chain != turn.chain:
            break
        if other.speaker and other.speaker not in participants:
            participants.append(other.speaker)
    for i in range(position + 1, len(turns)):
        other = turns[i]
        if other.chain != turn.chain:
            break
        if other.speaker and other.speaker not in participants and other.rule == "explicit":
            participants.append(other.speaker)
    matching = [p for p in participants if genders.get(p) == turn.pronoun and p != narrator]
    if prev and prev.speaker in matching and len(matching) > 1:
        matching.remove(prev.speaker)
    if matching:
        return _decide(turn, matching[0], "pronoun")
    # Then whoever of that gender was last named or last spoke before this turn.
    events = mentions.between(turn.position - 3000, turn.position + 200)
    events += [(t.position, [t.speaker]) for t in turns[max(0, position - 12):position] if t.speaker]
    for _pos, names in sorted(events, key=lambda e: e[0], reverse=True):
        same = [n for n in names if genders.get(n) == turn.pronoun and n != narrator]
        if same and (not prev or same[0] != prev.speaker):
            return _decide(turn, same[0], "pronoun")


_NOT_ACTOR_BEFORE = re.compile(r"\b(?:to|with|of|for|by|at|on|from|upon|towards?|than|about|after|like|thanking|"
                               r"told|asked|addressed|answered)\s+(?:the\s+)?$", re.I)


def _actors(turn: Turn, index: NameIndex, genders: dict[str, str], narrator: str | None) -> list[str]:
    """Who of the pronoun's gender acts in the turn's narration before its first quote (else
    after it), in text order: a name not governed by a preposition, not a possessive."""
    first_quote = next((s.start for s in turn.segments if s.kind == DIALOGUE), None)
    before, after = [], []
    for seg in turn.narration:
        for start, end, names in index.find(seg.text):
            if _NOT_ACTOR_BEFORE.search(seg.text[max(0, start - 14):start]) or re.match(r"[’'`]s\b", seg.text[end:]):
                continue
            same = [n for n in names if genders.get(n) == turn.pronoun and n != narrator]
            if same:
                (before if first_quote is None or seg.start < first_quote else after).append(same[0])
    return before or after[:1]


_TOLD = re.compile(rf"(?:{_VERB}\s+(?:[\w.]+\s+){{0,3}}?(?:to|of)|\b(?:asked|told|answered|addressed|questioned|reminded|"
                   rf"assured|urged|begged|warned|informed|turning\s+to|turned\s+to))\s+$", re.I)


def _told(turn: Turn, index: NameIndex) -> list[str]:
    """Whom the narration says a line is spoken to: "said she to Charlotte", "Mara asked
    Tobias", "turning to Ines"."""
    found = []
    for seg in turn.narration:
        if seg is turn.lead_in:
            continue  # "…he asked Elizabeth whether…" before her quote: she answers it
        for start, _end, names in index.find(seg.text):
            if _TOLD.search(seg.text[max(0, start - 60):start]):
                found.extend(n for n in names[:1] if n not in found)
    return found


_VOCATIVE_LEAD = r"\s*(?:(?:oh|ah|well|yes|no|now|my|dear|my dear|come|look|listen)[,!]?\s+)*"


def _vocatives(turn: Turn, index: NameIndex) -> list[str]:
    """Names addressed in this turn's quotes: "Elizabeth, come here." / "…, my dear Jane."."""
    found = []
    for seg in turn.dialogue:
        text = seg.text
        named_self = {m.end() for m in _SELF.finditer(text)}
        for start, end, names in index.find(text):
            if not re.search(r"[\w!?]", text[:start] + text[end:]) or start in named_self:
                continue  # "Bingley." answers a question, "It's me, Willow." says who speaks: no one is addressed
            before, after = text[:start], text[end:end + 2]
            opening = re.fullmatch(_VOCATIVE_LEAD, before, re.I)
            if not opening and re.match(r"\s*,[^.!?]*\byour?\b", text[end:]):
                # mid-line, after a sentence: "…is cold again. Tobias, would you…"
                opening = re.search(rf"{_ABBREVIATIONS}[.!?;]\s+{_VOCATIVE_LEAD}$", before, re.I)
            closing = re.search(r"(?:,|\bdear|\bmy dear)\s*$", before) and re.match(r"\s*[,.!?;—–-]|\s*$", after)
            if (opening and re.match(r"\s*[,!?.]", after)) or closing:
                found.extend(n for n in names[:1] if n not in found)
    return found


_VOICE_OF = re.compile(r"([A-Z][\w-]*(?:\s+[A-Z][\w-]*)?)[’'`]s\s+(?:\w+\s+)?(?:voice|words|reply|answer|tone)\b")
_HEARD_DO = re.compile(r"\s+(?:chuckle|laugh|sigh|say|ask|answer|reply|call|whisper)(?:d|ed|s)?\b")


_SELF = re.compile(r"\b(?:it[’'`]?s\s+(?:only\s+|just\s+)?me|it\s+is\s+(?:only\s+|just\s+)?me|I[’'`]?m|I\s+am|my\s+name[’'`]?s|"
                   r"my\s+name\s+is)[,—–-]*\s+(?=[A-Z])", re.I)


def _named_self(turn: Turn, index: NameIndex) -> None:
    """"It's me, Willow." / "I'm Tobias.": the line says who speaks (not "I'm not Glory", not
    "I'm Willow's friend")."""
    for seg in turn.dialogue:
        for m in _SELF.finditer(seg.text):
            found = _mention_at(seg.text, index, m.end())
            if found and not re.match(r"[’'`]s\b", seg.text[found[1]:]) and found[0][0] not in turn.addressees:
                return _decide(turn, found[0][0], "self")


def _voice_of(turn: Turn, index: NameIndex) -> str | None:
    """"Angel's voice was soft." / "She heard Xander sigh.": whose voice the narration hears
    speaks the line (but nobody the line itself calls by name). "She heard Angel's voice" hears
    what was already said: returns Angel, whose the line before is, and decides nothing here."""
    heard = None
    for seg in turn.narration:
        text = seg.text
        found = []
        for m in _VOICE_OF.finditer(text):
            mention = next(index.find(m.group(1)), None)
            if mention and mention[0] == 0:
                if re.search(r"\b(?:heard|recogni[sz]ed)\s+$", text[max(0, m.start() - 12):m.start()]):
                    heard = heard or mention[2][0]
                    continue
                found.append((m.start(), mention[2]))
        for start, end, names in index.find(text):
            if re.search(r"\bheard\s+$", text[max(0, start - 8):start]) and _HEARD_DO.match(text, end):
                found.append((start, names))
        for _at, names in sorted(found):
            if names[0] not in turn.addressees:
                _decide(turn, names[0], "voice")
                return None
    return heard


def _the_other_one(turn: Turn, mentions, genders: dict[str, str], reach: int = 1500) -> None:
    """"Spike? Are you awake?" where the narration around names only Willow and Spike: a line
    that calls one of two people by name is the other's."""
    present = {names[0] for _pos, names in mentions.between(turn.position - reach, turn.position + 200)}
    if len(present) == 2 and turn.addressees[0] in present:
        other = next(iter(present - {turn.addressees[0]}))
        if other not in turn.addressees and _gender_ok(other, turn.pronoun, genders):
            _decide(turn, other, "vocative")


def _point_of_view(position: int, mentions, genders: dict[str, str], source: str, reach: int = 3000) -> str | None:
    """Whose head a scene is told from: the character the narration around `position` names
    most, of the gender its "he"s and "she"s mostly are."""
    near = mentions.between(position - reach, position + reach)
    counts = Counter(names[0] for _pos, names in near)
    text = source[max(0, position - reach):position + reach]
    he = len(re.findall(r"\b(?:he|him|his)\b", text, re.I))
    she = len(re.findall(r"\b(?:she|her|hers)\b", text, re.I))
    if max(he, she) < 2 * min(he, she) + 3:
        return None  # both kinds of pronoun: no single point of view
    gender = "male" if he > she else "female"
    ranked = [n for n, _c in counts.most_common() if genders.get(n) == gender]
    return ranked[0] if ranked else None


# "…," she concluded. caught between quote marks that were never closed: narration, not speech.
_NARRATION_IN_QUOTES = re.compile(rf"\s*(?:he|she|they|we)\s+(?:\w+ly\s+)?{_VERB}\b")


def _quoted_words(seg: Segment, turn: Turn) -> bool:
    """A few words in quotation marks inside a sentence of narration ("a little old-fashioned
    'girl wisdom' is better"): scare quotes or a word quoted, not speech. They follow a
    lowercase word that is not a speech verb, and start with a lowercase letter."""
    if len(seg.text.split()) > 4 or not re.match(r"\W*[a-z]", seg.text):
        return False
    segs = turn.segments
    before = next((segs[i] for i in range(turn.at(seg) - 1, -1, -1) if segs[i].end <= seg.start
                   and segs[i].kind == NARRATION and segs[i] is not turn.lead_in), None)
    if before is None or before.paragraph != seg.paragraph:
        return False
    m = re.search(r"\b([a-z]+)\s*$", before.text)
    return bool(m) and m.group(1) not in SPEECH_VERB_SET


def _pronoun_beat(turn: Turn, index: NameIndex) -> None:
    """"She pointed at the door. '…'": the paragraph's first actor is a "he" or "she" (no name
    comes first), so the speaker is of that gender; _resolve_pronoun finds who."""
    for seg in turn.narration:
        if seg is turn.lead_in:
            continue
        for sentence in re.split(r"(?<=[.!?])\s+", seg.text.strip()):
            if _name_at(sentence, index):
                return
            m = re.match(r"(?:[A-Z]\w*ly,?\s+|Then,?\s+|And\s+|But\s+)?(he|she)\b", sentence, re.I)
            if m:
                turn.pronoun = "male" if m.group(1).lower() == "he" else "female"
                return


# Saying nothing: "He made no answer.", "Elizabeth said not a word."
_SILENCE = (r"(?:made|makes|gave|gives)\s+no\s+(?:answer|reply)|(?:was|is|remained|remains|fell|stayed)\s+silent|"
            r"said\s+nothing|(?:did|does)\s+not\s+(?:answer|reply|respond)|"
            r"(?:said|spoke|uttered)\s+not\s+a\s+word|(?:not|never)\s+(?:say|speak|utter)\s+a\s+word|"
            r"too\s+\w+(?:\s+\w+)?\s+to\s+(?:speak|say\s+a\s+word|answer|reply)")
# The clause of a sentence that keeps silent, up to its silence: "Tobias said not a word"
_SILENT_CLAUSE = re.compile(rf"[^.!?]*\b(?:{_SILENCE})\b", re.I)
# An answer without words takes a turn: a nod, a shrug, a silence.
_GESTURE = (r"(?:nod(?:ded|s|ding)?|shrug(?:ged|s|ging)?|"
            rf"(?:shook|shakes|shaking)\s+(?:his|her|their|my)\s+head|{_SILENCE})")
_REPLY_GESTURE = re.compile(rf"\b{_GESTURE}\b", re.I)


def _answered_by_gesture(turn: Turn, index: NameIndex, narrator: str | None) -> str | None:
    """Who answered with a nod or a shrug in a paragraph of its own just before this one
    ("Spike nodded.", "Another nod."): their turn is taken, so the one who asked goes on.
    "" when the paragraph names nobody (the one asked, then). A silence before the quote in its
    own paragraph counts too ("Ines said not a word. After a pause, he went on, '…'")."""
    if turn.lead_in is not None and _REPLY_GESTURE.search(turn.lead_in.text):
        said = turn.lead_in.text
    else:
        first_quote = next(s.start for s in turn.segments if s.kind == DIALOGUE)
        said = next((m.group() for seg in turn.narration if seg is not turn.lead_in and seg.end <= first_quote
                     for m in _SILENT_CLAUSE.finditer(seg.text)), None)
        if said is None:
            return None
    if narrator and re.match(r"\s*I\b", said):
        return narrator
    names = _name_at(said.lstrip(), index)
    return names[0] if names else ""


def _beat(turn: Turn, index: NameIndex, narrator: str | None, genders: dict[str, str]) -> None:
    """A cast member who is the subject of the paragraph's narration speaks its dialogue."""
    for seg in turn.narration:
        if seg is turn.lead_in and (narrator and re.match(r"\s*I\b", seg.text) or _REPLY_GESTURE.search(seg.text)):
            continue  # "I nodded." before a quote says who listened, not who speaks
        sentences = re.split(r"(?<=[.!?])\s+", seg.text)
        for sentence in sentences:
            names = _name_at(sentence, index)
            if names and _SILENT_CLAUSE.search(sentence):
                continue  # "Elizabeth said not a word.": she listens, somebody else speaks
            if names and _gender_ok(names[0], turn.pronoun, genders) and names[0] not in turn.addressees:
                return _decide(turn, names[0], "beat")  # but nobody calls themselves by name
            if narrator and re.match(r"I\b", sentence) and narrator not in turn.addressees:
                return _decide(turn, narrator, "beat")


def _previous_in_chain(turns: list[Turn], i: int) -> Turn | None:
    if i > 0 and turns[i - 1].chain == turns[i].chain:
        return turns[i - 1]
    return None


def _propagate_continued(turns: list[Turn]) -> None:
    """One quotation over several paragraphs is one speaker's, whichever paragraph says who."""
    reach = 0  # a tag names at most two earlier paragraphs of its quotation (not a whole told story)
    for i in range(len(turns) - 1, 0, -1):  # a tag in a later paragraph names the earlier ones
        turn, prev = turns[i], turns[i - 1]
        reach = reach + 1 if turn.rule == "continued" else 1
        if turn.continues and turn.speaker and prev.speaker is None and reach <= 2:
            _decide(prev, turn.speaker, "continued")
    for i, turn in enumerate(turns):
        if turn.continues and turn.speaker is None and i > 0 and turns[i - 1].speaker:
            _decide(turn, turns[i - 1].speaker, "continued")


_PERSONS = ("man men woman women guy guys girl boy kid fellow lady gentleman person stranger drunk drunkard "
            "buffoon idiot jerk creep fool bum thug punk youth teenager child").split()
_NEWCOMER_NOUNS = "|".join(_PERSONS + [r for r in _ROLES if r not in ("voice", "voices", "crowd")])  # a voice may be anyone's
_NEWCOMER = re.compile(rf"\b(?:some|a|an|another)\s+(?:[a-z-]+\s+){{0,2}}?(?:{_NEWCOMER_NOUNS})\b(?![’'`]s)")


def _newcomer(source: str, start: int, end: int) -> str | None:
    """Someone the narration brings in without a name ("some drunken buffoon", "a woman") in the
    paragraph just before a line (`end`), where the last one named (at `start`) is not: the one a
    named speaker is talking to."""
    paragraph = source.rfind("\n\n", 0, source.rfind("\n\n", 0, end))  # the one before the line's own
    if start > paragraph:
        return None  # the one named is right there: no stranger stands between
    lead = source[paragraph:end]
    found = list(_NEWCOMER.finditer(lead))
    return found[-1].group() if found else None


def _alternate(turns: list[Turn], index: NameIndex, narrators: dict[int, str], mentions,
               genders: dict[str, str], source: str = "") -> None:
    """In a conversation, A then B then A: fill the gaps from two turns away."""
    talkers = {t.speaker for t in turns if t.rule in ("explicit", "first-person", "pronoun", "self", "voice")}
    changed = True
    while changed:
        changed = False
        for i, turn in enumerate(turns):
            if turn.speaker is not None or turn.continues:
                continue
            narrator = narrators.get(turn.chapter)
            before = turns[i - 2] if i >= 2 and turns[i - 2].chain == turn.chain else None
            prev = turns[i - 1] if i >= 1 and turns[i - 1].chain == turn.chain else None
            nxt = turns[i + 1] if i + 1 < len(turns) and turns[i + 1].chain == turn.chain else None
            after = turns[i + 2] if i + 2 < len(turns) and turns[i + 2].chain == turn.chain else None
            guess = None
            answered = _answered_by_gesture(turn, index, narrator)
            if answered is not None and prev and prev.speaker and prev.speaker != answered:
                guess = prev.speaker  # "I nodded." between two quotes: the other one goes on
            elif before and prev and before.speaker and prev.speaker and before.speaker != prev.speaker:
                guess = before.speaker
            elif after and nxt and after.speaker and nxt.speaker and after.speaker != nxt.speaker:
                guess = after.speaker
            elif prev and prev.speaker and nxt and nxt.speaker and prev.speaker == nxt.speaker:
                others = [t.speaker for t in turns if t.chain == turn.chain and t.speaker not in (None, prev.speaker)]
                if others:
                    guess = Counter(others).most_common(1)[0][0]
            if guess is None and prev and prev.speaker:
                guess = _other_speaker(turns, i, prev.speaker, -1)
            known = next((t for t in (prev, nxt) if t and t.speaker), None)
            if guess is None and known:
                # "'Not yet,' replied Mara." with only Mara's name in the exchange: whoever else the
                # narration just named, of those a tag shows talking somewhere, is the one she talks with.
                near = mentions.between(turn.position - 1500, turn.dialogue[0].start)
                others = [(pos, names[0]) for pos, names in reversed(near) if names[0] in talkers
                          and names[0] not in (known.speaker, narrator) and _gender_ok(names[0], turn.pronoun, genders)]
                guess = others[0][1] if others else None
                newcomer = _newcomer(source, others[0][0] if others else turn.position - 1500, turn.dialogue[0].start)
                if newcomer and not (before and before.speaker == guess):
                    guess = _described(newcomer)  # "…trying to bore some drunken buffoon": he is the other one
            if guess is None and nxt and nxt.speaker:
                guess = _other_speaker(turns, i, nxt.speaker, +1)
            if guess is None and narrator and prev and prev.speaker and prev.speaker != narrator:
                guess = narrator  # told in the first person: the narrator is the one talked to
            if guess in turn.addressees:  # nobody calls themselves by name: the one who spoke last goes on
                guess = prev.speaker if prev and prev.speaker and prev.speaker not in turn.addressees else None
            if guess and guess == _gesture_after(turn, index, source):  # '"…?" Spike shook his head.': asked of him
                guess = prev.speaker if prev and prev.speaker and prev.speaker != guess else None
            if guess:
                _decide(turn, guess, "turns")
                changed = True


def _gesture_after(turn: Turn, index: NameIndex, source: str) -> str | None:
    """Who answers this line without a word in the sentence right after it ("Spike shook his
    head.", "Mara nodded slowly."): the one it was said to."""
    if not source or not turn.dialogue:
        return None
    after = source[turn.dialogue[-1].end:turn.dialogue[-1].end + 200]
    after = re.sub(r"^[\s\"“”’'`]*", "", after)
    sentence = re.split(r"(?<=[.!?])\s", after, maxsplit=1)[0]
    found = _mention_at(sentence, index)
    if found and re.match(rf"\s+(?:\w+ly\s+)?{_GESTURE}\b", sentence[found[1]:], re.I):
        return found[0][0]
    return None


def _other_speaker(turns: list[Turn], i: int, exclude: str, step: int, reach: int = 6) -> str | None:
    """The nearest speaker in the same conversation who is not `exclude`."""
    j = i + step
    while 0 <= j < len(turns) and abs(j - i) <= reach and turns[j].chain == turns[i].chain:
        if turns[j].speaker and turns[j].speaker != exclude:
            return turns[j].speaker
        j += step
    return None


def _chapter_narrators(work: Work, index: NameIndex, narrator: str | None) -> dict[int, str]:
    """Who says "I" in each chapter's narration: the work's narrator when it has one; else, in
    a chapter told in the first person (the opening of a third-person work, say), the one
    the others address there and no tag names."""
    found = {}
    for chapter in work.chapters:
        if narrator:
            found[chapter.number] = narrator
        elif is_first_person([chapter], min_words=200) and (who := guess_narrator([chapter], index)):
            found[chapter.number] = who
    return found


def is_first_person(chapters: list, min_words: int = 1) -> bool:
    """Narration that says "I" often enough is told by one of the characters."""
    words = firsts = 0
    for chapter in chapters:
        for seg in chapter.segments:
            if seg.kind == NARRATION:
                words += len(seg.text.split())
                firsts += len(_FIRST_PERSON.findall(seg.text))
    return words >= min_words and firsts / words > 0.015


def guess_narrator(chapters: list, index: NameIndex) -> str | None:
    """The first-person narrator is the one others address but who is never tagged "said X"."""
    addressed: Counter = Counter()
    tagged: Counter = Counter()
    for chapter in chapters:
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
