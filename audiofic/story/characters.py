"""Characters: who is in a work, from the voices file or discovered in the text.

Pure text work. Discovery keeps only names that act like people: they speak in a tag
("said Willow") or are the subject of a verb often enough; places, days, interjections and
capitalised sentence openers do not qualify. Gender comes from titles and nearby pronouns.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..model import VoiceChoice

GENDERS = ("female", "male", "unknown")
ARTICLES = {"the", "a", "an", "her", "his", "their", "my", "our", "your"}
MALE_TITLES = {"Mr", "Mr.", "Sir", "Lord", "King", "Prince", "Father", "Brother", "Uncle", "Master", "Monsieur", "Herr"}
FEMALE_TITLES = {"Mrs", "Mrs.", "Miss", "Ms", "Ms.", "Lady", "Queen", "Princess", "Mother", "Sister", "Aunt",
                 "Madame", "Mademoiselle", "Dame", "Mistress", "Frau"}
TITLES = MALE_TITLES | FEMALE_TITLES | {"Dr", "Dr.", "Doctor", "Professor", "Captain", "Colonel", "Major",
                                        "Madame", "Mademoiselle", "Monsieur", "Signor", "Señor", "Señora",
                                        "General", "Sergeant", "Inspector", "Detective", "Agent", "Officer"}

SPEECH_VERBS = (
    "said says say asked asks replied replies answered answers cried cries exclaimed exclaims shouted shouts "
    "whispered whispers muttered mutters murmured murmurs called calls continued continues added adds observed "
    "observes remarked remarks returned returns rejoined rejoins repeated repeats began begins explained explains "
    "insisted insists protested protests retorted retorts interrupted interrupts suggested suggests declared "
    "declares demanded demands inquired inquires enquired enquires responded responds snapped snaps growled growls "
    "hissed hisses sighed sighs laughed laughs sobbed sobs screamed screams yelled yells stammered stammers "
    "stuttered stutters mumbled mumbles groaned groans breathed breathes pleaded pleads begged begs urged urges "
    "agreed agrees admitted admits announced announces argued argues boasted boasts complained complains "
    "confessed confesses corrected corrects croaked croaks drawled drawls echoed echoes gasped gasps grumbled "
    "grumbles grunted grunts howled howls instructed instructs joked jokes lied lies moaned moans mused muses "
    "noted notes ordered orders panted pants promised promises purred purrs quipped quips recalled recalls "
    "reminded reminds reported reports roared roars scoffed scoffs screeched screeches shrieked shrieks sneered "
    "sneers snorted snorts spoke speaks squeaked squeaks stated states teased teases thought thinks told tells "
    "uttered utters vowed vows wailed wails warned warns whimpered whimpers wondered wonders chuckled chuckles "
    "giggled giggles smiled smiles grinned grins nodded nods shrugged shrugs blurted blurts bellowed bellows "
    "barked barks chirped chirps choked chokes concluded concludes cooed coos countered counters demurred "
    "faltered falters fumed fumes gushed gushes interjected interjects intoned intones lamented laments "
    "mocked mocks objected objects offered offers pressed presses prompted prompts proposed proposes queried "
    "ventured ventures volunteered volunteers whined whines yelped yelps cautioned cautions commanded commands "
    "conceded concedes persisted persists pursued pursues resumed resumes sang sings snarled snarls stormed "
    "thundered whistled wrote writes exploded hollered rasped rumbled sniffed sniffled spluttered sputtered "
    "simpered greeted greets assented assents sneezed called asserted asserts affirmed affirms maintained "
    "maintains interposed interposes reflected reflects commented comments hazarded acquiesced expostulated "
    "remonstrated remonstrates ejaculated ejaculates explained observed pleaded rejoined answered queried "
    "reasoned reasons replied murmured retorted mused breathed sniffed drawled corrected suggested inquired "
    "accosted accosts addressed"
).split() + ["went on", "goes on", "broke in", "cut in", "put in", "chimed in", "called out", "cried out",
             "spoke up", "piped up", "burst out", "broke out"]
# An answer without words: a tag beside a quote ("she nodded, 'Yes.'"), but a paragraph of its
# own that ends in one ("Spike nodded.") has taken its turn, and does not lead in the next quote.
REPLY_GESTURES = ("nodded", "nods", "shrugged", "shrugs")
SPEECH_VERBS += (
    "encouraged encourages informed informs questioned soothed soothes coaxed coaxes assured assures reassured "
    "reassures chided chides scolded scolds consoled consoles prodded cajoled cajoles chortled chortles huffed "
    "huffs crooned croons babbled babbles rambled rambles confirmed confirms supplied "
    # the present tense a story told in it uses: "I ask", "she whispers"
    "ask scream shout yell"
).split() + ["pointed out", "trailed off"]
SPEECH_VERB_SET = set(SPEECH_VERBS)

NOT_NAMES = set(
    """I I'm I'll I've I'd A An The This That These Those There Then Than Thus Though Through Yes No Not Nor Now
    Oh Ah Ahh Aha Eh Hm Hmm Huh Um Umm Uh Er Well Okay OK Ok Hey Hi Hello Goodbye Bye Please Thanks Thank Sorry
    God Gods Lord Jesus Christ Heaven Hell He She It We They You Your Yours My Mine Our His Her Hers Its Their
    What When Where Why Who Whom Whose How Which While Whilst If But And Or So Yet For Of In On At By To From
    With Without Into Onto Upon After Before Because Since Until Unless Although Even Just Only Still Maybe
    Perhaps Sometimes Something Someone Somebody Anything Anyone Everything Everyone Nothing Nobody All Some
    Any Each Every Both Either Neither Many Much More Most Few Other Another Such Very Too Also Again Once
    Here Today Tomorrow Yesterday Tonight Monday Tuesday Wednesday Thursday Friday Saturday Sunday January
    February March April May June July August September October November December Christmas Easter
    Chapter Part Book Prologue Epilogue Mr Mr. Mrs Mrs. Miss Ms Ms. Dr Dr. Sir Madam Ma'am Mum Mom Mommy Dad
    Daddy Mother Father Captain Colonel Lady Good Great Little Old New Poor Dear Right Left Don't Can't Won't
    Let Let's Come Go Get Look See Wait Stop No-one Alright Uh-huh Shh Damn Bloody Fuck Shit Jeez Wow Ouch
    Ooh Mmm Argh Gah Ugh Whoa Hush Yeah Yep Yup Nope Nah Gee Geez Aww Oops Hmph Psst Ahem Sure Fine Listen Remember Maybe Besides However Instead Meanwhile Finally First
    Im Ive Id Ill Youre Dont Cant Wont Didnt Isnt Thats Whats Theres Hes Shes Its Lets Wasnt Couldnt
    Second Last Next One Two Three Four Five Six Seven Eight Nine Ten Hundred Thousand Mars Earth English
    French German American British Street Road House Hall Park Church School Town City Castle Room""".split()
)

NOT_VERBS = set(
    """and or but nor for so yet of in on at by to from with into onto as than that who whom whose which
    now then today tonight here there too also again still just only even really very not all both
    out up down off over under about around through""".split()
)

_NAME_TOKEN = r"(?:[A-Z][a-z]+(?:['’`-][A-Za-z]+)?|[A-Z]\.)"
_NAME = re.compile(rf"(?<![\w'’`])(?:(?:{'|'.join(re.escape(t) for t in sorted(TITLES, key=len, reverse=True))})\s+)?"
                   rf"{_NAME_TOKEN}(?:[ \t]+{_NAME_TOKEN}){{0,3}}(?![\w'’`])")
_PRONOUN_MALE = re.compile(r"\b(?:he|his|himself)\b", re.IGNORECASE)
_PRONOUN_FEMALE = re.compile(r"\b(?:she|hers|herself)\b", re.IGNORECASE)


@dataclass
class Character:
    name: str
    aliases: list[str] = field(default_factory=list)
    gender: str = "unknown"
    voice: VoiceChoice = field(default_factory=VoiceChoice)  # what the voices file chose, if anything

    def names(self) -> list[str]:
        return [self.name] + [a for a in self.aliases if a != self.name]


def name_variants(character: Character) -> list[str]:
    """The names to look for: the given ones, plus a bare first name and title-less forms."""
    out = []
    for name in character.names():
        out.append(name)
        parts = name.split()
        if len(parts) > 1 and parts[0] in TITLES:
            out.append(" ".join(parts[1:]) if len(parts) > 2 else name)
        if len(parts) > 1 and parts[0].lower() in ARTICLES:
            # "The Mouse" is "the Mouse" in a sentence, and often just "Mouse".
            out.append(" ".join([parts[0].lower()] + parts[1:]))
            rest = " ".join(parts[1:])
            if parts[0].lower() in ("the", "a", "an"):  # "The Cook", "A Maid": "said the cook", "the maid"
                out += [f"the {rest.lower()}", f"{parts[0].lower()} {rest.lower()}"]
            if rest[:1].isupper() and parts[0].lower() == "the":  # not "An Inspector" → "Inspector"
                out.append(rest)
                if len(parts) > 3 and parts[2].lower() == "of":  # "The King of Hearts" is "the King"
                    out += [f"the {parts[1]}", parts[1]]
        if len(parts) > 1 and all(p.isalpha() or p.endswith("'S") for p in parts[1:]):
            out.append(" ".join([parts[0]] + [p.lower() for p in parts[1:]]))  # "Alice'S Sister"
        if "'S" in name:
            out.append(name.replace("'S", "'s"))
    return list(dict.fromkeys(v for v in out if v))


FEMALE_NOUNS = ("wife lady mother mama mamma mum mom sister daughter aunt girl woman niece grandmother "
                "bride widow queen princess maid mistress hostess governess").split()
MALE_NOUNS = ("husband father papa dad brother son uncle boy man nephew grandfather groom king prince "
              "master host gentleman fellow lad").split()
NOUN_GENDER = {n: "female" for n in FEMALE_NOUNS} | {n: "male" for n in MALE_NOUNS}


def described_gender(description: str) -> str:
    """"the old man" is a man, "his mother" a woman, "the drunken buffoon" unknown."""
    return NOUN_GENDER.get(description.split()[-1].lower(), "unknown") if description.split() else "unknown"


READER_NAMES = {"reader", "y/n", "you"}
READER = "Reader"


def reader_character(text: str, is_reader_insert: bool) -> Character | None:
    """The reader of a reader-insert work (Y/N in it, or "you said" tags), as a cast member."""
    tags = len(re.findall(rf"[,!?…—–-][\"”]\s+you\s+(?:\w+ly\s+)?(?:{'|'.join(SPEECH_VERBS)})\b", text))
    return Character(READER, ["Y/N"]) if is_reader_insert or tags >= 2 else None


class NameIndex:
    """Finds cast names in text, longest alias first; an alias shared by two characters is
    left ambiguous and resolved by the caller."""

    def __init__(self, cast: list[Character]):
        self.by_alias: dict[str, list[str]] = defaultdict(list)
        self.gender = {c.name: c.gender for c in cast}
        # the reader of a reader-insert work: the one "you said" is (a character named so, or Y/N)
        self.reader = next((c.name for c in cast if READER_NAMES & {n.casefold() for n in c.names()}), None)
        for c in cast:
            for alias in name_variants(c):
                if c.name not in self.by_alias[alias]:
                    self.by_alias[alias].append(c.name)
        titles = Counter(c.name.split()[0] for c in cast if len(c.name.split()) > 1 and c.name.split()[0] in TITLES)
        for c in cast:  # "said Mademoiselle": a title alone names the one character who has it
            parts = c.name.split()
            if len(parts) == 2 and titles[parts[0]] == 1 and parts[1][:1].isupper() and parts[0] not in self.by_alias:
                self.by_alias[parts[0]].append(c.name)
        first_names = Counter()
        for c in cast:
            parts = [p for p in c.name.split() if p not in TITLES]
            if len(parts) > 1:
                first_names[parts[0]] += 1
        for c in cast:
            parts = [p for p in c.name.split() if p not in TITLES]
            if len(parts) > 1 and first_names[parts[0]] == 1 and parts[0] not in self.by_alias:
                self.by_alias[parts[0]].append(c.name)
        surnames: dict[str, set[str]] = defaultdict(set)  # "Jonathan Small" → Small, if no one else is one
        for c in cast:
            for name in c.names():
                parts = name.split()
                if len(parts) == 2 and parts[0] not in TITLES and parts[1][:1].isupper() and parts[1].isalpha():
                    surnames[parts[1]].add(c.name)
        for surname, owners in surnames.items():
            if len(owners) == 1 and next(iter(owners)) not in self.by_alias[surname]:
                self.by_alias[surname].append(next(iter(owners)))
        # A name two characters answer to goes first to the better-described one.
        described = {c.name: (c.gender in ("female", "male"), len(c.aliases)) for c in cast}
        for alias, names in self.by_alias.items():
            names.sort(key=lambda n: described.get(n, (False, 0)), reverse=True)
        aliases = sorted(self.by_alias, key=len, reverse=True)
        self.pattern = (
            re.compile(r"(?<![\w'’`])(?:" + "|".join(re.escape(a).replace(r"\ ", r"\s+") for a in aliases)
                       + r")(?![\w'’`])")
            if aliases else None
        )

    def find(self, text: str):
        """Yield (start, end, [candidate names]) for each mention."""
        if not self.pattern:
            return
        for m in self.pattern.finditer(text):
            yield m.start(), m.end(), self.by_alias[re.sub(r"\s+", " ", m.group())]


def infer_gender(name: str, text: str) -> str:
    return infer_genders([name], text)[name]


_OBJECT_BEFORE = re.compile(r"\b(?!(?:and|but|then|while|when|as|so|because|if|or|until|that|where)\b)[a-z]+\s+$")
SCENE = 20_000  # characters: about a scene or a chapter, where one point of view holds
POV_DISCOUNT = 4  # the most the point-of-view character's pronouns are discounted for everyone else


def infer_genders(names: list[str], text: str, evidence: dict[str, tuple[int, int]] | None = None) -> dict[str, str]:
    """From a title, else from the pronouns that follow the name where it is a subject:
    "Willow sighed. She …" and "Spike ran his hand …" (but not "her": object or possessive).

    `evidence`, when given, receives each name's ("he", "she") counts.

    A scene told from one character's point of view says "she" (or "he") around every other
    name in it too, so in each stretch of text (SCENE) the pronouns of its point-of-view
    character's gender are weighed down, for everyone else, by how much more that stretch
    uses them than the other kind. One pass over the text for all names."""
    genders, scenes = {}, {}
    for name in names:
        first = name.split()[0] if name.split() else ""
        if first in MALE_TITLES:
            genders[name] = "male"
        elif first in FEMALE_TITLES:
            genders[name] = "female"
        else:
            scenes[name] = defaultdict(lambda: [0, 0])
    if not scenes:
        return genders
    alternatives = "|".join(re.escape(n) for n in sorted(scenes, key=len, reverse=True))
    # Zero-width, so "Giles" inside "Mr. Giles sighed" counts for both names, as it would alone.
    for m in re.finditer(rf"(?<![\w'’`])(?=({alternatives})(?![\w'’`])\s+[a-z])", text):
        name = m.group(1)
        end = m.start() + len(name)
        window = text[end:end + 200]
        sentences = re.split(r"(?<=[.!?])[\"”’']?\s+", window)
        window = sentences[0] + (" " + " ".join(sentences[1].split()[:2]) if len(sentences) > 1 else "")
        for other in _NAME.finditer(window, 1):
            if _trim_name(other.group()) and _trim_name(other.group()) != name:
                window = window[: other.start()]  # pronouns after another name are theirs
                break
        counts = scenes[name][m.start() // SCENE]
        if _OBJECT_BEFORE.search(text[max(0, m.start() - 20):m.start()]):
            # "she heard Angel chuckle and she suspected…": after a name that is acted on, "he"
            # or "she" starts a clause about someone else; only "his", "himself", "herself" count.
            window = re.sub(r"\b(?:he|she)\b", "", window, flags=re.I)
        counts[0] += len(_PRONOUN_MALE.findall(window))
        counts[1] += len(_PRONOUN_FEMALE.findall(window))
    totals = {name: [sum(c[i] for c in by_scene.values()) for i in (0, 1)] for name, by_scene in scenes.items()}
    if evidence is not None:  # what `audiofic cast` shows: the "he"s and "she"s that followed each name
        evidence.update({name: (male, female) for name, (male, female) in totals.items()})
    plain = {name: _judge(*counts) for name, counts in totals.items()}
    weighed = {name: [0.0, 0.0] for name in scenes}
    for scene in {k for by_scene in scenes.values() for k in by_scene}:
        chunk = text[scene * SCENE:(scene + 1) * SCENE]
        he, she = len(_PRONOUN_MALE.findall(chunk)) + 1, len(_PRONOUN_FEMALE.findall(chunk)) + 1
        dominant, side = ("female", 1) if she > he else ("male", 0)
        here = [n for n in scenes if scene in scenes[n] and plain[n] == dominant]
        pov = max(here, key=lambda n: scenes[n][scene][side], default=None)
        for name, by_scene in scenes.items():
            if scene not in by_scene:
                continue
            male, female = by_scene[scene]
            if pov and name != pov:  # by at most POV_DISCOUNT: a scene of men is no proof against a man
                male, female = ((male, female * max(he / she, 1 / POV_DISCOUNT)) if dominant == "female"
                                else (male * max(she / he, 1 / POV_DISCOUNT), female))
            weighed[name][0] += male
            weighed[name][1] += female
    return genders | {name: _judge(*weighed[name]) for name in scenes}


def name_gender(name: str) -> str:
    """What a first name usually is: "Xander" and "Angel" are boys' names at least twice as often
    as girls' (audiofic/story/name_genders.txt). For a voice when the pronouns say nothing; never for
    attribution, where a guessed "she" would draw lines to a woman who is only remembered."""
    first = name.split()[0].lower() if name.split() else ""
    return {"m": "male", "f": "female"}.get(_name_genders().get(first, ""), "unknown")


@cache
def _name_genders() -> dict[str, str]:
    lines = (Path(__file__).parent / "name_genders.txt").read_text("ascii").splitlines()
    return dict(line.split("\t") for line in lines if line and not line.startswith("#"))


def _judge(male: float, female: float) -> str:
    if male > female * 1.5 and male >= 2:
        return "male"
    if female > male * 1.5 and female >= 2:
        return "female"
    return "unknown"


def discover(text: str, min_mentions: int = 3) -> list[Character]:
    """Characters found in the text: names that speak in tags or act as subjects."""
    verbs = "|".join(SPEECH_VERBS)
    speaking = Counter()
    for m in re.finditer(rf"\b(?:{verbs})\s+({_NAME.pattern})", text):
        speaking[m.group(1)] += 1
    for m in re.finditer(rf"({_NAME.pattern})\s+(?:\w+ly\s+)?(?:{verbs})\b", text):
        speaking[m.group(1)] += 1
    addressed = Counter()  # "Spike?" / "…, Spike." inside quotes: the person spoken to
    for m in re.finditer(rf"(?:[\"“]|,\s)({_NAME.pattern})(?=[,!?.]|[\"”])", text):
        addressed[_trim_name(m.group(1))] += 1
    mentions = Counter()
    subjects = Counter()
    placed = Counter()  # "in Sunnydale", "to Sunnydale": a place, not a person
    lowercase = Counter(re.findall(r"\b[a-z]+\b", text))
    for m in _NAME.finditer(text):
        name = _trim_name(m.group())
        if not name:
            continue
        before = text[max(0, m.start() - 3):m.start()]
        sentence_start = m.start() == 0 or re.search(r"(?:[.!?\"“”]\s*|\n\s*)$", before)
        first, _, rest = name.partition(" ")
        if sentence_start and rest and lowercase[first.lower()]:
            name = rest  # "Later Tobias": a sentence opener glued to the name after it
        if re.search(r"\b(?:in|to|from|at|near|into|across|outside|inside|around)\s+(?:the\s+)?$",
                     text[max(0, m.start() - 12):m.start()]):
            placed[name] += 1
        if sentence_start and " " not in name and name not in speaking:
            # A capitalised first word is only a name if it also appears mid-sentence.
            mentions[name] += 0
        else:
            mentions[name] += 1
        after = re.match(r"\s+([a-z]+)", text[m.end():m.end() + 30])
        if after and after.group(1) not in NOT_VERBS:
            subjects[name] += 1
    mentions.update(addressed)
    names = set()
    for name, count in mentions.items():
        if not name or name in NOT_NAMES:
            continue
        spoke = speaking.get(name, 0)
        if count + spoke >= min_mentions and (spoke or subjects[name] >= 2 or addressed[name] >= 2):
            names.add(name)
    for name in list(speaking):
        trimmed = _trim_name(name)
        if trimmed and trimmed not in NOT_NAMES and speaking[name] >= 2:
            names.add(trimmed)
    for name in list(names):
        total = mentions.get(name, 0) + speaking.get(name, 0)
        if name.endswith("s") and " " not in name and 2 * len(re.findall(rf"\bthe\s+{re.escape(name)}\b", text)) >= total:
            names.discard(name)  # "the Greeks", "the Trojans": a people, not a person, even when they shout
            continue
        if " " in name or speaking.get(name, 0) >= 2:
            continue
        if lowercase[name.lower()] >= 3 and 2 * lowercase[name.lower()] >= total:
            names.discard(name)  # "Dark", "Will", "Goddess": a word of the language written with a capital
        elif placed[name] * 2 >= total:
            names.discard(name)  # "back to Sunnydale"
        elif name.endswith("s") and name[:-1] in names:
            names.discard(name)  # "Spikes": a possessive with its apostrophe lost

    for name, count in mentions.items():  # "Spike Spiegel", once, is Spike's full name
        parts = name.split()
        if count and len(parts) > 1 and parts[0] in names and not set(parts) & NOT_NAMES:
            names.add(name)
    return merge_names(names, mentions, speaking, text)


def _trim_name(name: str) -> str:
    words = [re.sub(r"['’`]s$", "", w) for w in name.split()]  # "Willow's" is Willow
    while words and words[-1] in NOT_NAMES | TITLES:
        words.pop()
    while len(words) > 1 and words[0] in NOT_NAMES - TITLES:
        words.pop(0)
    if not words or (len(words) == 1 and words[0] in TITLES):
        return ""
    return " ".join(words)


def merge_names(names: set[str], mentions: Counter, speaking: Counter, text: str) -> list[Character]:
    """"Spike" and "Spike Spiegel" are one character, named by the longer form; so are "Marr"
    and "Mr. Marr" with "Tobias Marr", unless another Marr makes that a guess (then the surname
    goes to the one it mostly means, or stays a name of its own)."""
    weight = {n: mentions.get(n, 0) + 2 * speaking.get(n, 0) for n in names}
    groups: dict[str, list[str]] = {}

    def tokens_of(name: str) -> list[str]:
        return [t for t in name.split() if t not in TITLES]

    for name in sorted(names, key=lambda n: (-len(tokens_of(n)), -len(n.split()), -weight[n], n)):
        tokens = tokens_of(name)
        homes = [head for head in groups if tokens and set(tokens) <= set(tokens_of(head))
                 and tokens[0] in (tokens_of(head)[0], tokens_of(head)[-1]) and _title_fits(name, head)]
        bearers = [h for h in groups if len(tokens) == 1 and tokens_of(h)[-1] == tokens[0] != tokens_of(h)[0]
                   or len(tokens) == 1 and tokens_of(h) == tokens and h != name]
        if len(bearers) > 1:
            # "Bingley" of Mr. Bingley and of Caroline Bingley: the one called by the surname
            # alone; "Mr. Marr" where Tobias and Anna Marr are both in the story may be their
            # father: which one is not ours to guess
            by_surname = sorted((h for h in homes if tokens_of(h) == tokens), key=lambda h: -weight[h])
            clear = len(by_surname) == 1 or len(by_surname) > 1 and weight[by_surname[0]] >= 2 * weight[by_surname[1]]
            unmarried = name.split()[0].rstrip(".") in ("Miss", "Ms") and len(homes) == 1  # a daughter, never the mother
            homes = by_surname[:1] if clear else homes if unmarried else []  # Darcy: Mr. Darcy, not his sister
        if homes:
            groups[homes[0]].append(name)
        else:
            groups[name] = [name]
    _merge_nicknames(groups, weight, text)
    cast = []
    kept = {head: members for head, members in groups.items() if sum(weight[m] for m in members) >= 3}
    genders = infer_genders([m for members in kept.values() for m in members], text)
    for head, members in kept.items():
        gender = next((genders[m] for m in sorted(members, key=lambda m: (-weight[m], m))
                       if genders[m] != "unknown"), "unknown")
        total = sum(weight[m] for m in members)
        cast.append((total, Character(name=head, aliases=sorted(set(members) - {head}), gender=gender)))
    cast.sort(key=lambda pair: (-pair[0], pair[1].name))
    return [c for _, c in cast]


def _title_fits(name: str, head: str) -> bool:
    """"Mr. Marr" is not Anna Marr, nor "Mrs. Marr" Tobias Marr, nor "Miss Bennet" Mrs. Bennet:
    a title against the other name's title, else against its first name's usual sex."""
    sex = {**{t: "male" for t in MALE_TITLES}, **{t: "female" for t in FEMALE_TITLES}}
    title, their_title = name.split()[0], head.split()[0]
    if title in TITLES and their_title in TITLES:  # "Miss Bennet" is not "Mrs. Bennet", nor "Mrs. Forster"
        # "Colonel Forster": one title, one person
        return title.rstrip(".") == their_title.rstrip(".")
    mine = sex.get(title)
    theirs = name_gender(next((t for t in head.split() if t not in TITLES), ""))
    return not mine or theirs in ("unknown", mine)


# Nicknames that do not start like the name ("Bob" for Robert); those that do are found by rule.
NICKNAMES = {
    "Bob": "Robert", "Bobby": "Robert", "Rob": "Robert", "Robbie": "Robert", "Bill": "William", "Billy": "William",
    "Jim": "James", "Jimmy": "James", "Jamie": "James", "Dick": "Richard", "Rick": "Richard",
    "Ricky": "Richard", "Jack": "John", "Johnny": "John", "Ned": "Edward", "Ted": "Edward", "Teddy": "Edward",
    "Eddie": "Edward", "Liz": "Elizabeth", "Lizzy": "Elizabeth", "Lizzie": "Elizabeth", "Beth": "Elizabeth",
    "Betsy": "Elizabeth", "Eliza": "Elizabeth", "Peggy": "Margaret", "Meg": "Margaret", "Maggie": "Margaret",
    "Polly": "Mary", "Molly": "Mary", "Sally": "Sarah", "Kate": "Katherine", "Katie": "Katherine",
    "Kitty": "Katherine", "Harry": "Henry", "Hank": "Henry", "Chuck": "Charles", "Charlie": "Charles",
    "Tony": "Anthony", "Alex": "Alexander", "Xander": "Alexander", "Nick": "Nicholas",
    "Tom": "Thomas", "Tommy": "Thomas", "Mike": "Michael", "Mick": "Michael", "Sam": "Samuel",
    "Vicky": "Victoria", "Becky": "Rebecca", "Patsy": "Patricia", "Trish": "Patricia", "Jenny": "Jennifer",
    "Ginny": "Virginia", "Hal": "Henry", "Ron": "Ronald",
    "Nessa": "Vanessa", "Sasha": "Alexandra", "Lexi": "Alexandra", "Izzy": "Isabel", "Bella": "Isabella",
}
DIMINUTIVE_ENDINGS = ("y", "ie", "i", "o", "s")


def is_nickname(short: str, full: str) -> bool:
    """Whether one name may be a familiar form of another: "Toby" of Tobias, "Will" of Willow,
    "Bob" of Robert. A shared start of three letters at least, the short form maybe with a
    diminutive ending; or a nickname of the table."""
    if NICKNAMES.get(short) == full:
        return True
    if len(short) < 3 or len(short) >= len(full) or short == full:
        return False
    if full.startswith(short):
        return True
    stem = next((short[: -len(e)] for e in DIMINUTIVE_ENDINGS if short.endswith(e) and len(short) - len(e) >= 3), "")
    return bool(stem) and full.startswith(stem)


def _merge_nicknames(groups: dict[str, list[str]], weight: dict[str, int], text: str) -> None:
    """A single name that is a familiar form of another character's first name joins that
    character ("Toby" and "Tobias Marr"), unless the text shows them as two people: both named
    in one sentence ("Toby looked at Tobias"), or given other genders by the text."""
    heads = sorted(groups, key=lambda h: -sum(weight[m] for m in groups[h]))
    for short in [h for h in heads if " " not in h]:
        for full in heads:
            first = full.split()[0]
            if full == short or full not in groups or short not in groups or not is_nickname(short, first):
                continue
            if _named_together(short, groups[full], text):
                continue
            genders = infer_genders([short, first], text)
            if "unknown" not in (genders[short], genders[first]) and genders[short] != genders[first]:
                continue
            groups[full] += groups.pop(short)
            break


def _named_together(name: str, others: list[str], text: str) -> bool:
    """Whether `name` and one of `others` are named in one sentence: two people."""
    first_names = {o.split()[0] for o in others}
    pattern = re.compile(rf"[^.!?\n]*\b{re.escape(name)}\b[^.!?\n]*")
    for sentence in pattern.findall(text):
        if any(re.search(rf"\b{re.escape(o)}\b", sentence) for o in first_names):
            return True
    return False


def chat_sender(sender: str | None, index: NameIndex) -> str | None:
    """A chat message's (or a script line's) sender as the cast knows them: "Mara", a handle
    listed among a character's aliases ("@tobes"), "MARA" in a script; an unknown sender keeps
    the name the log gives (a script's capitals as a name is written)."""
    for form in dict.fromkeys((sender or "", (sender or "").lstrip("@"), script_name(sender or ""))):
        mention = next(index.find(form), None) if form else None
        if mention and mention[0] == 0 and mention[1] == len(form):
            return mention[2][0]
    return script_name(sender) if sender else sender


def script_name(sender: str) -> str:
    """A script's "MARA:" or "MR. MARR:" is Mara, Mr. Marr: capitals are how scripts set names."""
    return sender.title() if sender.isupper() and len(sender) > 1 else sender
