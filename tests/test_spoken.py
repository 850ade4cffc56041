"""The spoken form, table-driven: input as a fan writes it → what the engine is asked to say.
Cases are our own, one or more per rule (numbers, abbreviations, symbols, fan-fiction typography,
reader-insert, lexicon, headings)."""

import pytest

from audiofic.story.spoken import SpeechOptions, names_and_rare_words, spoken_form

CASES = [
    # marks
    ("I`ve never seen you", "I've never seen you"),
    ("“Quoted,” she said.", '"Quoted," she said.'),
    ("It’s ‘fine’.", "It's 'fine'."),
    # cardinal numbers
    ("0", "zero"), ("7 cats", "seven cats"), ("13", "thirteen"), ("21", "twenty-one"), ("40", "forty"),
    ("99 problems", "ninety-nine problems"), ("100", "one hundred"), ("101", "one hundred and one"),
    ("342", "three hundred and forty-two"), ("999", "nine hundred and ninety-nine"),
    ("1,000", "one thousand"), ("1,001", "one thousand and one"), ("12,345", "twelve thousand three hundred and forty-five"),
    ("1,000,000", "one million"), ("2,500,000", "two million five hundred thousand"),
    ("3.14", "three point one four"), ("0.5", "zero point five"),
    ("10000 years", "ten thousand years"), ("-", ""),
    # ordinals
    ("1st", "first"), ("2nd", "second"), ("3rd", "third"), ("4th", "fourth"), ("5th", "fifth"), ("8th", "eighth"),
    ("9th", "ninth"), ("11th", "eleventh"), ("12th", "twelfth"), ("20th", "twentieth"), ("21st", "twenty-first"),
    ("22nd", "twenty-second"), ("33rd", "thirty-third"), ("100th", "one hundredth"), ("101st", "one hundred and first"),
    ("her 16th birthday", "her sixteenth birthday"),
    # years
    ("1984", "nineteen eighty-four"), ("in 1066", "in ten sixty-six"), ("1900", "nineteen hundred"),
    ("1905", "nineteen oh five"), ("2000", "two thousand"), ("2005", "two thousand and five"),
    ("2010", "twenty ten"), ("2024", "twenty twenty-four"), ("the 1990s", "the nineteen nineties"),
    ("the 1960s", "the nineteen sixties"),
    # times
    ("3:45", "three forty-five"), ("10:00", "ten o'clock"), ("7:05", "seven oh five"), ("3:45 pm", "three forty-five p m"),
    ("9 a.m.", "nine a m"), ("11pm", "eleven p m"), ("12:30 AM", "twelve thirty a m"),
    # money
    ("$5", "five dollars"), ("$1", "one dollar"), ("$5.50", "five dollars and fifty cents"), ("£10", "ten pounds"),
    ("£1.01", "one pound and one penny"), ("€20", "twenty euros"), ("$1,000", "one thousand dollars"),
    # the sign after the number, as most of the world writes it, with a decimal comma; any currency sign
    ("35€", "thirty-five euros"), ("4,20 €", "four euros and twenty cents"), ("1.500 ₽", "one thousand five hundred roubles"),
    ("₹250", "two hundred and fifty rupees"), ("80 ₺", "eighty lira"), ("99¢", "ninety-nine cents"),
    ("¥500", "five hundred yen"),
    # percentages, fractions, numbers with signs
    ("50%", "fifty percent"), ("100 %", "one hundred percent"), ("1/2", "one half"), ("3/4", "three quarters"),
    ("1/3", "one third"), ("2/3", "two thirds"), ("1/4", "one quarter"), ("5/8", "five eighths"),
    ("#1 fan", "number one fan"), ("no. 5", "number five"), ("No. 12", "number twelve"),
    # units
    ("5 km", "five kilometres"), ("1 km", "one kilometre"), ("20kg", "twenty kilograms"), ("6 ft", "six feet"),
    ("1 ft", "one foot"), ("30 mph", "thirty miles per hour"), ("5 cm", "five centimetres"),
    ("2 lbs", "two pounds"), ("20°C", "twenty degrees Celsius"), ("10 min", "ten minutes"), ("2 hrs", "two hours"),
    # roman numerals in headings and names, not the pronoun
    ("Chapter IV", "Chapter four"), ("Part XII", "Part twelve"), ("Book III", "Book three"),
    ("Louis XIV", "Louis the fourteenth"), ("Henry VIII", "Henry the eighth"), ("Elizabeth II", "Elizabeth the second"),
    ("Pope John XXIII", "Pope John the twenty-third"), ("Then I went home.", "Then I went home."),
    ("Mara and I left.", "Mara and I left."), ("Richard III's crown", "Richard III's crown"),
    # abbreviations and initials
    ("Mr. Smith", "Mister Smith"), ("Mrs. Jones", "Missus Jones"), ("Ms. Lee", "Miz Lee"), ("Dr. Who", "Doctor Who"),
    ("Prof. Snape", "Professor Snape"), ("St. Mungo's", "Saint Mungo's"), ("on Baker St.", "on Baker Street"),
    ("Capt. Hook", "Captain Hook"), ("Lt. Dan", "Lieutenant Dan"), ("Sgt. Pepper", "Sergeant Pepper"),
    ("cats vs. dogs", "cats versus dogs"), ("apples, pears, etc.", "apples, pears, et cetera."),
    ("fruit, e.g. apples", "fruit, for example apples"), ("one thing, i.e. this", "one thing, that is this"),
    ("J. K. Rowling", "J K Rowling"), ("C. S. Lewis wrote", "C S Lewis wrote"), ("No. I won't.", "No. I won't."),
    ("Wait a sec.", "Wait a sec."),
    # links, e-mail, symbols
    ("see https://archiveofourown.org/works/123", "see a link"), ("at www.example.com today", "at a link today"),
    ("mail me@example.com", "mail an e-mail address"), ("Tom & Jerry", "Tom and Jerry"),
    ("R&D", "R and D"), ("@sunnyD said", "at sunnyD said"), ("2 + 2 = 4", "two plus two equals four"),
    # ellipses and dashes as pauses, doubled marks
    ("Well... maybe", "Well... maybe"), ("Well.... maybe", "Well... maybe"), ("Wait…", "Wait..."),
    ("He—no—she", "He, no, she"), ("yes -- no", "yes, no"), ("then – now", "then, now"),
    ("Really?!", "Really?"), ("No!!!", "No!"), ("What?!?!", "What?"), ("Yes!!1", "Yes!"), ("By Aileen E..", "By Aileen E."),
    # emphasis marks
    ("*What am I going to do?*", "What am I going to do?"), ("I *really* mean it", "I really mean it"),
    ("_never_ again", "never again"), ("**bold** move", "bold move"), ("a*b", "a*b"),
    # capitals for emphasis, acronyms kept
    ("I said THAT", "I said that"), ("SO not okay", "so not okay"), ("NO WAY", "no way"),
    ("the FBI agent", "the FBI agent"), ("CIA files", "CIA files"), ("watch TV", "watch TV"), ("it's OK", "it's OK"),
    ("DNA test", "DNA test"), ("NASA launch", "NASA launch"), ("the BBC", "the BBC"), ("MI6", "MI6"),
    ("DON'T you dare", "don't you dare"), ("I'm fine", "I'm fine"), ("the NHS", "the NHS"), ("HELLO there", "hello there"),
    # stretched words
    ("Baaaath", "Bath"), ("nooooo", "no"), ("Shhhhh", "Shh"), ("hmmmm", "hmm"), ("Sooooo good", "So good"),
    ("yesssss", "yes"), ("Ahhhhh!", "Ah!"), ("grrrr", "grr"), ("Zzzzz", "Zzz"), ("book", "book"), ("all", "all"),
    ("Pleeeease", "Please"),
    # stutters
    ("I-I don't know", "I, I don't know"), ("W-what?", "What, what?"), ("I-I-I can't", "I, I, I can't"),
    ("s-sorry", "sorry, sorry"), ("well-known", "well-known"), ("T-shirt", "T-shirt"), ("x-ray", "x-ray"),
    # tildes and decoration
    ("hi~", "hi"), ("~sigh~", "sigh"), ("~*~", ""), ("=====", ""), ("Part 2 ~~~", "Part two"), ("-----", ""),
    # emoji and kaomoji
    ("Great :)", "Great"), ("Sure ;-)", "Sure"), ("lol :D", "lol"), ("love you <3", "love you"), ("yay (^_^)", "yay"),
    ("ugh (T_T)", "ugh"), ("party 🎉", "party"), ("ok 👍🏽", "ok"), ("family 👨‍👩‍👧", "family"),
    # faces whose eyes and mouths are not ASCII, with arms and a flipped table; brackets of words stay
    ("so (◔◡◔) sweet", "so sweet"), ("hm (´• ω •`)", "hm"), ("no (ノ°益°)ノ︵ ┻━┻", "no"), ("look (ʘ‿ʘ)", "look"),
    ("ok ¯\\_(ツ)_/¯", "ok"), ("Mara (sic) said", "Mara (sic) said"), ("see (i.e.) this", "see (that is) this"),
    # author's asides
    ("(A/N: sorry for the wait!)", "(Author's note: sorry for the wait!)"), ("[A/N I own nothing]", "Author's note: I own nothing"),
    # reader-insert, defaults
    ("Hello, Y/N.", "Hello, you."), ("(Y/N) smiled", "you smiled"), ("[Y/N]'s coat", "your coat"),
    ("y/n laughed", "you laughed"), ("Y/N L/N", "you"), ("your E/C eyes", "your your eye colour eyes"),
    ("her H/C hair", "her your hair colour hair"),
    # zalgo
    ("H̷̢̛e̵͓̓l̶̰̈́l̸̛o̶", "H̷̢e̵͓l̶̰l̸̛o̶"),
    # plain text is left alone
    ("The lamp was lit at dusk.", "The lamp was lit at dusk."), ("", ""), ("Don't panic.", "Don't panic."),
]


@pytest.mark.parametrize("text, said", CASES)
def test_spoken_form(text, said):
    assert spoken_form(text) == said


def test_there_are_at_least_150_cases():
    assert len(CASES) >= 150


READER = SpeechOptions(reader={"name": "Sam", "last_name": "Reyes", "eye_colour": "green"})


@pytest.mark.parametrize("text, said", [
    ("Hello, Y/N.", "Hello, Sam."), ("(Y/N) (L/N)", "Sam Reyes"), ("Y/N's coat", "Sam's coat"),
    ("your E/C eyes", "your green eyes"), ("[h/c] hair", "your hair colour hair"),
])
def test_reader_table(text, said):
    assert spoken_form(text, READER) == said


LEXICON = SpeechOptions(lexicon={"Reuenthal": "ROY-en-tall", "Hermione": "her-MY-oh-nee", "sidhe": "shee",
                                 "Nguyen": "[[w'In]]"})


@pytest.mark.parametrize("text, said", [
    ("Reuenthal smiled.", "ROY-en-tall smiled."), ("REUENTHAL!", "reuenthal!"),  # case-aware: the name as written
    ("Hermione's wand", "her-MY-oh-nee's wand"), ("the Sidhe came", "the shee came"), ("the sidhe", "the shee"),
    ("Nguyen said", "[[w'In]] said"), ("Reuenthals", "Reuenthals"), ("unrelated words", "unrelated words"),
])
def test_lexicon_whole_words_case_aware(text, said):
    assert spoken_form(text, LEXICON) == said


def test_emoji_can_be_named():
    assert spoken_form("party 🎉", SpeechOptions(emoji="name")) == "party party popper"


def test_names_and_rare_words_most_frequent_first():
    text = "Mara met Tobias. Then Mara smiled at Tobias and at Mara's cat, Biscuit. Zoë waved."
    found = dict(names_and_rare_words(text))
    assert list(found)[:2] == ["Mara", "Tobias"] and found["Mara"] == 3 and "Zoë" in found
    assert "Then" not in found


# ---------------------------------------------------------------- through the pipeline

from conftest import EXAMPLE, run_cli, script_records  # noqa: E402


def test_script_shows_the_spoken_form_and_keeps_the_source_span(tmp_path):
    story = tmp_path / "s.txt"
    story.write_text("Title: Numbers\nAuthor: Aileen E.\n\nShe paid $5 at 3:45 pm, Y/N. *Really*? NO WAY!!!\n")
    (record,) = [r for r in script_records(story) if r["kind"] == "narration"]
    source = story.read_text()
    assert source[record["start"]:record["end"]] == record["text"]  # the span never changes
    assert record["spoken"] == "She paid five dollars at three forty-five p m, you. Really? no way!"
    heading = script_records(story)[0]["spoken"]
    assert heading == "Numbers. By Aileen E." and ".." not in heading


def test_a_title_from_the_file_name_is_not_read_aloud(tmp_path):
    story = tmp_path / "004_c356fc4fa9ae2df1.txt"
    story.write_text("The first line of a story with no header at all.\n\nAnd a second paragraph.\n")
    heading = script_records(story)[0]
    assert "c356" not in heading.get("spoken", "") and "004" not in heading.get("spoken", "")


def test_a_lexicon_changes_only_the_segments_with_that_word(tmp_path):
    plain = {r["index"] + 1000 * r["chapter"]: r for r in script_records(EXAMPLE)}
    voices = tmp_path / "v.toml"
    voices.write_text('[lexicon]\n"Biscuit" = "BISS-kit"\n')
    lexed = {r["index"] + 1000 * r["chapter"]: r for r in script_records(EXAMPLE, "--voices", voices)}
    changed = [k for k in plain if plain[k]["spoken"] != lexed[k]["spoken"]]
    assert changed and all("Biscuit" in plain[k]["text"] for k in changed)
    assert all("BISS-kit" in lexed[k]["spoken"] for k in changed)
    # the cache key is made of the spoken form: only those segments would be synthesized again
    from audiofic.casting.config import load_config
    from audiofic.run.plan import load_work, plan

    work = load_work(EXAMPLE)
    before = {p.key for cp in plan(work, load_config()).chapters for p in cp.segments}
    after_plan = plan(work, load_config(voices))
    after = [p for cp in after_plan.chapters for p in cp.segments]
    assert {p.key for p in after if "Biscuit" not in p.segment.text} <= before
    assert not {p.key for p in after if "Biscuit" in p.segment.text} & before


def test_a_bad_lexicon_or_reader_table_is_one_line(tmp_path):
    from conftest import assert_one_line_error

    for content in ('[lexicon]\n"Biscuit" = 3\n', '[reader]\nnmae = "Sam"\n', '[speech]\nemoji = "shout"\n'):
        voices = tmp_path / "v.toml"
        voices.write_text(content)
        assert_one_line_error(run_cli("script", EXAMPLE, "--voices", voices))


def test_words_lists_names_with_how_they_are_said(tmp_path):
    voices = tmp_path / "v.toml"
    voices.write_text('[lexicon]\n"Tobias" = "toe-BYE-us"\n')
    result = run_cli("words", EXAMPLE, "--voices", voices)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1].split()[1] == "Mara"  # the most frequent name first
    tobias = next(line for line in lines if " Tobias " in line)
    assert "toe-BYE-us" in tobias and len(tobias.split()) >= 4  # with espeak-ng's phonemes


def test_info_says_when_a_work_is_reader_insert(tmp_path):
    story = tmp_path / "s.txt"
    story.write_text("Title: You\n\nY/N walked in. Everyone looked at Y/N.\n")
    result = run_cli("info", story)
    assert result.returncode == 0 and "Reader-insert" in result.stdout


def test_italic_thoughts_are_their_own_softer_slower_segments(tmp_path):
    import json

    from audiofic.model import Chapter
    from audiofic.story.segment import segment_chapter

    text = "She looked at the door. *I can't believe this is happening,* she thought. She *really* meant it."
    segments = segment_chapter(Chapter(1, "One", text, 0))
    assert [(s.text, s.style) for s in segments] == [
        ("She looked at the door.", None), ("*I can't believe this is happening,*", "thought"),
        ("she thought. She *really* meant it.", None)]  # a word or two in asterisks is emphasis
    assert all(text[s.start:s.end] == s.text for s in segments)

    story = tmp_path / "t.txt"
    story.write_text(f"Title: Thoughts\nAuthor: Wren\n\n{text}\n")
    records = script_records(story)
    thought = next(r for r in records if r["style"] == "thought")
    assert thought["spoken"] == "I can't believe this is happening,"
    out = tmp_path / "out"
    assert run_cli("render", story, "-o", out).returncode == 0
    entry = json.loads(next(out.rglob("manifest.json")).read_text())["chapters"]["1"]
    gains = dict(zip([r["kind"] + str(r["style"]) for r in records], entry["gains"]))
    assert gains["narrationthought"] == pytest.approx(gains["narrationNone"] - 4.0, abs=0.5)

    plain = tmp_path / "plain.toml"
    plain.write_text('[speech]\nthoughts = "plain"\n')
    keys_soft = json.loads(next(out.rglob("manifest.json")).read_text())["chapters"]["1"]["segments"]
    assert run_cli("render", story, "-o", out, "--voices", plain).returncode == 0
    keys_plain = json.loads(next(out.rglob("manifest.json")).read_text())["chapters"]["1"]["segments"]
    changed = [i for i, (a, b) in enumerate(zip(keys_soft, keys_plain)) if a != b]
    assert [records[i]["style"] for i in changed] == ["thought"]  # only the thought is said differently
