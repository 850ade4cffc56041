"""Spoken form: what an engine is asked to say for a segment, the way a human reader would say it.

A pure text stage between segmentation and synthesis: the segment's text and source span never
change; `spoken_form` gives the words to speak, which are also what the cache key is made of.
English first; every rule is a function of its own, so another language adds its own table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
        "sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
SCALES = [(10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand")]
ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
                 "nine": "ninth", "twelve": "twelfth"}

ABBREVIATIONS = {
    "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Dr.": "Doctor", "Prof.": "Professor", "Sr.": "Senior",
    "Jr.": "Junior", "Capt.": "Captain", "Lt.": "Lieutenant", "Sgt.": "Sergeant", "Gen.": "General",
    "Col.": "Colonel", "Rev.": "Reverend", "Hon.": "Honourable", "Mt.": "Mount", "Ave.": "Avenue",
    "vs.": "versus", "vs": "versus", "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is",
    "approx.": "approximately", "dept.": "department", "vol.": "volume", "ch.": "chapter",
}
UNITS = {"km": "kilometres", "kg": "kilograms", "cm": "centimetres", "mm": "millimetres", "m": "metres",
         "g": "grams", "mg": "milligrams", "lb": "pounds", "lbs": "pounds", "oz": "ounces", "ft": "feet",
         "mph": "miles per hour", "kph": "kilometres per hour", "km/h": "kilometres per hour", "ml": "millilitres",
         "l": "litres", "°C": "degrees Celsius", "°F": "degrees Fahrenheit", "°": "degrees", "GB": "gigabytes",
         "MB": "megabytes", "kb": "kilobytes", "min": "minutes", "mins": "minutes", "hr": "hours",
         "hrs": "hours", "sec": "seconds", "secs": "seconds"}
CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
              "€": ("euro", "euros", "cent", "cents"), "¥": ("yen", "yen", "sen", "sen"),
              "₹": ("rupee", "rupees", "paisa", "paise"), "₽": ("rouble", "roubles", "kopek", "kopeks"),
              "₩": ("won", "won", "jeon", "jeon"), "₱": ("peso", "pesos", "centavo", "centavos"),
              "₺": ("lira", "lira", "kuruş", "kuruş"), "₴": ("hryvnia", "hryvnias", "kopiyka", "kopiyky"),
              "₪": ("shekel", "shekels", "agora", "agorot"), "฿": ("baht", "baht", "satang", "satang"),
              "₫": ("dong", "dong", "xu", "xu"), "₦": ("naira", "naira", "kobo", "kobo")}
# Any other currency sign is said by its Unicode name ("COLON SIGN" → "colon"), as a reader would guess.
ACRONYMS = {"FBI", "CIA", "NSA", "USA", "UK", "US", "EU", "UN", "DNA", "TV", "ID", "IQ", "CEO", "ICU", "ER", "OK",
            "BBC", "NYC", "LA", "DC", "PhD", "MD", "DJ", "AI", "CPR", "GPS", "ATM", "SUV", "UFO", "RAF", "NHS",
            "MI6", "SHIELD", "HYDRA", "AO3", "OC", "OTP", "AU", "POV", "WIP", "IV", "PE", "RPG", "SMS", "ASAP",
            "NASA", "NATO", "RSVP", "PTSD", "ADHD", "LGBT", "LGBTQ", "NCIS", "SWAT", "CSI", "KGB", "MIT"}
WORD_ONSETS = set("bl br ch cl cr dr dw fl fr gl gr kn kr ph pl pr sc sh sk sl sm sn sp st sw th tr tw wh wr "
                  "sch scr shr spl spr str thr qu gn ps gh".split())
READER_DEFAULTS = {"y/n": "you", "l/n": "", "f/n": "", "m/n": "", "e/c": "your eye colour",
                   "h/c": "your hair colour", "h/l": "your hair length", "s/c": "your skin colour",
                   "f/c": "your favourite colour", "n/n": "your nickname"}
READER_KEYS = {"y/n": "name", "l/n": "last_name", "f/n": "first_name", "m/n": "middle_name", "e/c": "eye_colour",
               "h/c": "hair_colour", "h/l": "hair_length", "s/c": "skin_colour", "f/c": "favourite_colour",
               "n/n": "nickname"}
READER_PLACEHOLDER = re.compile(r"[\(\[\{]?\b([YLFMEHSN])\s*/\s*([NCL])\b[\)\]\}]?", re.I)


@dataclass(frozen=True)
class SpeechOptions:
    lexicon: dict[str, str] = field(default_factory=dict)  # word → how to say it (words, or [[phonemes]])
    reader: dict[str, str] = field(default_factory=dict)  # [reader] name = "Sam", eye_colour = "green"
    emoji: str = "drop"  # or "name"
    thoughts: str = "soft"  # *italic thoughts*: the narrator a little slower and softer; "character"; or "plain"

    def __hash__(self):
        return hash((tuple(sorted(self.lexicon.items())), tuple(sorted(self.reader.items())), self.emoji,
                     self.thoughts))


def number_words(n: int) -> str:
    if n < 0:
        return "minus " + number_words(-n)
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else "-" + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " and " + number_words(rest))
    for value, name in SCALES:
        if n >= value:
            rest = n % value
            tail = "" if rest == 0 else (" and " if rest < 100 else " ") + number_words(rest)
            return number_words(n // value) + " " + name + tail
    return str(n)


def ordinal_words(n: int) -> str:
    words = number_words(n)
    head, sep, last = words.rpartition("-") if "-" in words.split()[-1] else words.rpartition(" ")
    if last in ORDINAL_WORDS:
        last = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return f"{head}{sep}{last}"


def year_words(n: int) -> str:
    if 2000 <= n <= 2009:
        return number_words(n)
    high, low = divmod(n, 100)
    if low == 0:
        return number_words(high) + " hundred"
    return number_words(high) + (" oh " + ONES[low] if low < 10 else " " + number_words(low))


def roman_value(numeral: str) -> int:
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for a, b in zip(numeral, numeral[1:] + " "):
        total += -values[a] if b != " " and values[b] > values[a] else values[a]
    return total


# ---------------------------------------------------------------- the rules, in the order they run


def _marks(text: str) -> str:
    text = re.sub(r"(?<=\w)`(?=\w)", "'", text)
    text = text.replace("`", "'").replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return text


def _reader(text: str, options: SpeechOptions) -> str:
    def say(m):
        key = f"{m.group(1)}/{m.group(2)}".lower()
        if key not in READER_DEFAULTS:
            return m.group()
        return options.reader.get(READER_KEYS[key]) or READER_DEFAULTS[key]
    text = READER_PLACEHOLDER.sub(say, text)
    return re.sub(r"\byou's\b", "your", text, flags=re.I)


def _links(text: str) -> str:
    text = re.sub(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", "an e-mail address", text)
    return re.sub(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", "a link", text)


_ARMS = r"ヽ٩\\¯╰＼⊂〜~└┌ᕕᕦ｡"
_KAOMOJI = re.compile(rf"[{_ARMS}]*[(（]([^()（）\n]{{0,2}})?([^()（）\n]{{2,12}})[)）][ﾉノ╯/۶و_¯︵┻━┳┛┗ᕗᕤ⊃〜~ﾍ✧*:・ﾟ｡ゞ]*(?:\s?[︵彡]\s?[┻┳][━─]+[┻┳])?")


def _is_face(inner: str) -> bool:
    """A kaomoji's inside: no digits, no two letters in a row (so not a word, whatever the script:
    faces use a letter at most as an eye or a mouth, ω ツ ಠ ʖ), and some sign that no sentence
    puts in brackets (not only . , ! ? ' "): (◕‿◕) (T_T) (´・ω・`), never (i.e.) (see 3) (sic)."""
    if any(c.isdigit() for c in inner) or re.search(r"[^\W\d_]{2}", inner) or len(inner.strip()) < 2:
        return False
    return any(not c.isalnum() and not c.isspace() and c not in ".,!?'\"" for c in inner)


def _emoji(text: str, options: SpeechOptions) -> str:
    text = _KAOMOJI.sub(lambda m: " " if _is_face(m.group(2)) else m.group(0), text)  # (^_^) (◕‿◕) (╯°□°)╯︵ ┻━┻
    text = re.sub(r"¯\\_\(ツ\)_/¯|(?<!\w)(?:[\^T>oO\-;~＾]_+[\^T<oO\-;~＾]|\^\^)(?!\w)", " ", text)  # ¯\_(ツ)_/¯ ^_^ -_-
    text = re.sub(r"(?<!\w)[:;=8][-'^]?[)(DPpO/\\|3\]\[*](?!\w)|<3", " ", text)  # :) ;-) :D <3
    out = []
    for ch in text:
        if (unicodedata.category(ch) in ("So", "Sk") and ord(ch) >= 0x2190) or ch in "\u200d\ufe0f":
            if options.emoji == "name" and ch not in "\u200d\ufe0f":
                out.append(f" {unicodedata.name(ch, '').lower()} ")
            else:
                out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _decoration(text: str) -> str:
    text = re.sub(r"(?:[~=*#_+\-]{3,}|(?:~\*)+~?|(?:\*~)+\*?)", " ", text)  # decorative runs
    text = re.sub(r"(?<=\w)~+|~+(?=\w)", "", text)  # "hi~" and "~sigh~"
    text = re.sub(r"(?<!\S)~+(?!\S)", " ", text)  # a tilde standing alone
    text = re.sub(r"(?<![\w*])[*_]+(?=\w)|(?<=[\w.!?,])[*_]+(?![\w*])", "", text)  # *emphasis*, _emphasis_
    text = re.sub(r"\(\s*A/N\s*:?\s*", "(Author's note: ", text, flags=re.I)
    text = re.sub(r"\[\s*A/N\s*:?\s*", "[Author's note: ", text, flags=re.I)
    return re.sub(r"[\[\]{}]", " ", text)


def _punctuation(text: str) -> str:
    text = re.sub(r"([?!])[?!1]+", lambda m: "?" if "?" in m.group() else "!", text)  # ?!, !!!, !!1
    text = re.sub(r"\.{4,}|…+", "...", text)
    text = re.sub(r"\s*(?:—|–|--)\s*|(?<!\S)-(?!\S)", ", ", text)  # dashes as a pause
    text = re.sub(r"(?<=\w)\.\.(?!\.)", ".", text)  # "E.." → "E."
    return text


def _stutters(text: str) -> str:
    """I-I-I → I, I, I; W-what → what, what (a fragment is said as the word it begins)."""
    def say(m):
        parts = m.group().split("-")
        word = parts[-1]
        if not all(word.lower().startswith(p.lower()) for p in parts[:-1]):
            return m.group()
        first = word[0].upper() + word[1:] if parts[0][0].isupper() else word
        return ", ".join([first] + [word] * (len(parts) - 1))
    return re.sub(r"\b(?:[A-Za-z]{1,2}-)+[A-Za-z]+\b", say, text)


def _stretched(text: str) -> str:
    """Baaaath → Bath, nooooo → no, Shhhhh → Shh, hmmmm → hmm: as a person reads them."""
    def say(m):
        word = m.group()
        if not re.search(r"([A-Za-z])\1\1", word) or re.fullmatch(r"[IVXLCDM]+", word):
            return word
        if not re.search(r"[aeiouyAEIOUY]", word):  # shh, hmm, grr, zzz
            return re.sub(r"([A-Za-z])\1{2,}", r"\1\1", word)
        return re.sub(r"([A-Za-z])\1{2,}", r"\1", word)
    return re.sub(r"[A-Za-z]+", say, text)


def _is_acronym(word: str) -> bool:
    if word in ACRONYMS or any(c.isdigit() for c in word):
        return True
    lower = word.lower()
    if not re.search(r"[aeiouy]", lower):
        return True
    onset = re.match(r"[^aeiouy]+", lower)
    return bool(onset and len(onset.group()) > 1 and onset.group() not in WORD_ONSETS)


def _capitals(text: str) -> str:
    """Capitals for emphasis are read as words; acronyms (FBI) are still spelled."""
    def say(m):
        word = m.group()
        if len(word) < 2 or _is_acronym(word):
            return word
        return word.lower()
    return re.sub(r"\b[A-Z]+(?:'[A-Z]+)*\b(?!['’]\w)", say, text)


def _roman(text: str) -> str:
    text = re.sub(r"\b(Chapter|Part|Book|Volume|Act|Scene)\s+([IVXLCDM]+)\b",
                  lambda m: f"{m.group(1)} {number_words(roman_value(m.group(2)))}", text)
    return re.sub(r"\b([A-Z][a-z]+)\s+((?:X{0,3})(?:IX|IV|V?I{0,3}))\b(?!['’]\w)",
                  lambda m: (f"{m.group(1)} the {ordinal_words(roman_value(m.group(2)))}"
                             if len(m.group(2)) >= 2 or m.group(2) in ("V", "X") else m.group()), text)


def _abbreviations(text: str) -> str:
    text = re.sub(r"\bSt\.(?=\s+[A-Z])", "Saint", text)
    text = re.sub(r"(?<=[a-z] )St\.", "Street", text)
    for short, long in ABBREVIATIONS.items():
        ends = "." if short == "etc." else ""  # "…, etc." at a sentence's end keeps its full stop

        def say(m, long=long, ends=ends):
            word = long[0].upper() + long[1:] if m.group()[0].isupper() else long
            tail = m.group(1)
            return word + (ends + tail if tail is not None else "")

        flags = re.I if short.islower() else 0
        text = re.sub(rf"(?<![\w.]){re.escape(short)}(?!\w)(\s*$|\s+(?=[A-Z]))?", say, text, flags=flags)
    return re.sub(r"\b([A-Z])\.(?=\s*[A-Z][.\w])", r"\1", text)  # initials: J. K. Rowling → J K Rowling


_SIGNS = "".join(re.escape(chr(c)) for c in range(0x20, 0x3000) if unicodedata.category(chr(c)) == "Sc")
_SIGN_FIRST = re.compile(rf"([{_SIGNS}])\s?(\d[\d,]*)(?:\.(\d{{1,2}}))?\b")
# "20€", "5,50 €", "1.000 ₽", "1 000 €": a comma or full stop before exactly two digits is the decimal mark
_SIGN_AFTER = re.compile(rf"(?<![\d.,])(\d{{1,3}}(?:[.,\u202f ]\d{{3}})+|\d+)(?:[.,](\d{{2}}))?\s?([{_SIGNS}])(?!\w)")


def _currency_names(sign: str) -> tuple[str, str, str, str]:
    if sign in CURRENCIES:
        return CURRENCIES[sign]
    name = unicodedata.name(sign, "money").lower().removesuffix(" sign")
    return name, name if name.endswith("s") else name + "s", "cent", "cents"


def _amount(sign: str, whole: str, cents: str | None) -> str:
    if sign == "¢" and not cents:
        count = int(re.sub(r"\D", "", whole))
        return f"{number_words(count)} {'cent' if count == 1 else 'cents'}"
    one, many, small_one, small_many = _currency_names(sign)
    whole_n = int(re.sub(r"\D", "", whole))
    cents_n = int((cents or "0").ljust(2, "0")[:2])
    words = f"{number_words(whole_n)} {one if whole_n == 1 else many}"
    if cents_n:
        words += f" and {number_words(cents_n)} {small_one if cents_n == 1 else small_many}"
    return words


def _money(text: str) -> str:
    """Any currency sign, before the number ("$5.50") or after it, as most of the world writes it."""
    text = _SIGN_FIRST.sub(lambda m: _amount(m.group(1), m.group(2), m.group(3)), text)
    return _SIGN_AFTER.sub(lambda m: _amount(m.group(3), m.group(1), m.group(2)), text)


def _time(m) -> str:
    hour, minute = int(m.group(1)), int(m.group(2))
    suffix = f" {' '.join(m.group(3).replace('.', '').lower())}" if m.group(3) else ""
    if minute == 0:
        return f"{number_words(hour)}{suffix or ' o' + chr(39) + 'clock'}"
    if minute < 10:
        return f"{number_words(hour)} oh {number_words(minute)}{suffix}"
    return f"{number_words(hour)} {number_words(minute)}{suffix}"


def _numbers(text: str) -> str:
    text = _money(text)
    text = re.sub(r"\b(\d{1,2}):(\d{2})\s*([ap]\.?m\.?)?(?!\w)", _time, text, flags=re.I)
    text = re.sub(r"\b(\d{1,2})\s*([ap])\.?m\.?(?!\w)", lambda m: f"{number_words(int(m.group(1)))} "
                  f"{m.group(2).lower()} m", text, flags=re.I)
    text = re.sub(r"\b(\d+)\s?%", lambda m: f"{number_words(int(m.group(1)))} percent", text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: ordinal_words(int(m.group(1))), text)
    fractions = {(1, 2): "one half", (1, 4): "one quarter", (3, 4): "three quarters", (1, 3): "one third",
                 (2, 3): "two thirds"}
    text = re.sub(r"(?<![\d/])(\d)/(\d{1,2})(?![\d/])", lambda m: fractions.get(
        (int(m.group(1)), int(m.group(2))),
        f"{number_words(int(m.group(1)))} {ordinal_words(int(m.group(2)))}{'s' if int(m.group(1)) > 1 else ''}"),
        text)
    text = re.sub(r"#(\d+)", lambda m: f"number {number_words(int(m.group(1)))}", text)
    text = re.sub(r"\b[Nn]o\.\s*(?=\d)", "number ", text)
    text = re.sub(r"\b(\d+)\s?(km/h|°C|°F|km|kg|cm|mm|mg|lbs|lb|oz|ft|mph|kph|ml|GB|MB|mins|min|hrs|hr|secs|sec)(?!\w)",
                  lambda m: f"{number_words(int(m.group(1)))} "
                  f"{UNITS[m.group(2)] if m.group(1) != '1' else UNITS[m.group(2)].replace('feet', 'foot').rstrip('s')}",
                  text)
    text = re.sub(r"(?<!\w)(10[1-9]\d|1[1-9]\d\d|20\d\d)(?!\d|,\d)(s?)\b",
                  lambda m: year_words(int(m.group(1))) + ("s" if m.group(2) else "")
                  if not m.group(2) else re.sub(r"y$", "ie", year_words(int(m.group(1)))) + "s", text)
    text = re.sub(r"\b\d{1,3}(?:,\d{3})+\b", lambda m: number_words(int(m.group().replace(",", ""))), text)
    text = re.sub(r"\b(\d+)\.(\d+)\b", lambda m: f"{number_words(int(m.group(1)))} point "
                  + " ".join(ONES[int(d)] for d in m.group(2)), text)
    return re.sub(r"\b\d+\b", lambda m: number_words(int(m.group())) if len(m.group()) <= 15 else
                  " ".join(ONES[int(d)] for d in m.group()), text)


def _symbols(text: str) -> str:
    text = re.sub(r"\s&\s|&", " and ", text)
    text = re.sub(r"(?<!\w)@(\w+)", r"at \1", text)
    text = re.sub(r"(?<=\s)\+(?=\s)", "plus", text)
    text = re.sub(r"(?<=\s)=(?=\s)", "equals", text)
    return text


def _lexicon(text: str, options: SpeechOptions) -> str:
    for word, said in options.lexicon.items():
        flags = 0 if any(c.isupper() for c in word) else re.I
        text = re.sub(rf"(?<![\w'’]){re.escape(word)}(?![\w])", lambda _m, s=said: s, text, flags=flags)
    return text


def spoken_form(text: str, options: SpeechOptions | None = None) -> str:
    """The words an engine should say for `text`: every word of it, said as a reader would."""
    options = options or SpeechOptions()
    text = _marks(text)
    text = _reader(text, options)
    text = _links(text)
    text = _emoji(text, options)
    text = _decoration(text)
    text = _punctuation(text)
    text = _stutters(text)
    text = _stretched(text)
    text = _roman(text)
    text = _abbreviations(text)
    text = _numbers(text)
    text = _capitals(text)
    text = _symbols(text)
    text = re.sub(r"([\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]{2})"
                  r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+", r"\1", text)  # zalgo
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"[,;:]+(?=[.!?])", "", text)
    text = re.sub(r"^[\s,;:]+", "", text)
    text = _lexicon(text, options)  # last, so what the user wrote (words or [[phonemes]]) is said as written
    return re.sub(r"\s+", " ", text).strip()


def names_and_rare_words(text: str) -> list[tuple[str, int]]:
    """Words a reader may stumble on, most frequent first: capitalised words met mid-sentence
    (names, places, titles) and words with letters from outside English's alphabet."""
    text = _marks(text)
    counts: dict[str, int] = {}
    mid_sentence: set[str] = set()
    for m in re.finditer(r"(?<![\w'])([A-Za-zÀ-ÖØ-öø-ÿĀ-ſ][\w'-]*)", text):
        word = re.sub(r"'s$", "", m.group(1).strip("'-"))
        odd = any(ord(c) > 127 for c in word)
        if not (word[0].isupper() or odd) or word in ("I", "I'm", "I'll", "I've", "I'd"):
            continue
        counts[word] = counts.get(word, 0) + 1
        before = text[max(0, m.start() - 4):m.start()]
        if odd or not (m.start() == 0 or re.search(r"(?:[.!?]['\"]?\s+|\n\s*|(?:^|\s)['\"])$", before)):
            mid_sentence.add(word)  # a capital that is not just a sentence's first word
    from .characters import NOT_NAMES

    found = {word: count for word, count in counts.items() if word in mid_sentence and word not in NOT_NAMES}
    return sorted(found.items(), key=lambda item: (-item[1], item[0]))


def has_reader_insert(text: str) -> bool:
    return any(f"{m.group(1)}/{m.group(2)}".lower() in READER_DEFAULTS for m in READER_PLACEHOLDER.finditer(text))
