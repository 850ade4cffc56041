"""Each attribution rule on short passages, discovery, casting and recasting."""

import json

from audiofic.attribute import attribute
from audiofic.cast import cast_voices
from audiofic.characters import Character, discover
from audiofic.config import load_config
from audiofic.ingest import parse_text
from audiofic.model import DIALOGUE
from audiofic.segment import segment_chapter
from conftest import EXAMPLE, run_cli

CAST = [
    Character("Willow Rosenberg", ["Willow", "Will"], "female"),
    Character("Spike", ["William"], "male"),
    Character("Mr. Darcy", ["Darcy"], "male"),
    Character("The Hatter", [], "male"),
]


def said(text, cast=CAST, narrator=None, overrides=None):
    work = parse_text(text)
    for chapter in work.chapters:
        chapter.segments = segment_chapter(chapter, None)
    attribute(work, cast, narrator, overrides)
    return [(s.text, s.speaker, s.rule) for c in work.chapters for s in c.segments if s.kind == DIALOGUE]


def test_explicit_tags_after_and_before_the_quote():
    assert said('"Hello," said Willow.')[0][1:] == ("Willow Rosenberg", "explicit")
    assert said('"Hello," Spike muttered darkly.')[0][1:] == ("Spike", "explicit")
    assert said('"Indeed," replied Mr. Darcy.')[0][1:] == ("Mr. Darcy", "explicit")
    assert said('"Tea?" said the Hatter.')[0][1:] == ("The Hatter", "explicit")
    assert said('Willow turned and whispered, "Run."')[0][1:] == ("Willow Rosenberg", "explicit")


def test_a_tag_in_the_paragraph_before_the_quote():
    assert said('Spike answered with a grin:\n\n"Not likely."')[0][1:] == ("Spike", "explicit")


def test_pronoun_tag_goes_to_the_participant_of_that_gender():
    lines = said('Spike leaned on the wall.\n\n"Hi," said Willow.\n\n"Hello, pet," he said.\n\n"Stop that," she said.')
    assert [(s, r) for _, s, r in lines] == [
        ("Willow Rosenberg", "explicit"), ("Spike", "pronoun"), ("Willow Rosenberg", "pronoun")]


def test_the_person_addressed_answers_next():
    lines = said('"Spike, come here," said Willow.\n\n"Why should I?"')
    assert lines[1][1:] == ("Spike", "vocative")


def test_turns_alternate_in_a_conversation():
    text = '"One," said Willow.\n\n"Two," said Spike.\n\n"Three."\n\n"Four."\n\n"Five."'
    assert [s for _, s, _ in said(text)] == ["Willow Rosenberg", "Spike", "Willow Rosenberg", "Spike",
                                             "Willow Rosenberg"]
    assert said(text)[2][2] == "turns"


def test_action_beat_names_the_speaker():
    assert said('Spike shrugged. "So?"')[0][1:] == ("Spike", "beat")


def test_first_person_narrator():
    assert said('"Hello," I said.', narrator="Spike")[0][1:] == ("Spike", "first-person")
    # Without a narrator given, nobody is guessed from a single line: the dialogue voice reads it.
    assert said('"Hello," I said.')[0][1] is None


def test_first_person_narrator_found_from_how_others_address_them():
    text = ("I walked to the bridge. I lit my cigarette and I waited for her. I was cold.\n\n"
            '"Hello, Spike," Willow said.\n\n"Hi," I said.\n\n"Are you well, Spike?" she asked.\n\n'
            '"I am," I said. I smiled at her and I looked at the water.')
    lines = said(text)
    assert [s for _, s, _ in lines] == ["Willow Rosenberg", "Spike", "Willow Rosenberg", "Spike"]
    assert lines[1][2] == "first-person"


def test_a_quotation_continued_over_paragraphs_keeps_its_speaker():
    lines = said('"This goes on," said Spike, "and on,\n\n"and on to the end."')
    assert [s for _, s, _ in lines] == ["Spike", "Spike", "Spike"]


def test_nothing_to_go_on_means_unknown():
    assert said('"Who is there?"')[0][1:] == (None, "unknown")
    assert said('"Who is there?"', cast=[])[0][1:] == (None, "unknown")


def test_override_pins_a_line():
    text = '"One," said Willow.'
    work = parse_text(text)
    work.chapters[0].segments = segment_chapter(work.chapters[0], None)
    index = next(i for i, s in enumerate(work.chapters[0].segments) if s.kind == DIALOGUE)
    assert said(text, overrides={(1, index): "Spike"})[0][1:] == ("Spike", "override")


def test_discovery_finds_people_merges_aliases_and_infers_gender():
    text = (
        "On Monday Spike Spiegel walked into Sunnydale. Spike lit a cigarette and he smiled. "
        '"Hey," said Spike. Julia looked up from her book. She frowned. "You again," said Julia. '
        "Suddenly the lights went out. Spike laughed and he shook his head. Julia sighed and she left. "
        '"Wait," Spike said. Julia turned and she waited. In Sunnydale nothing happens on Monday.'
    )
    cast = {c.name: c for c in discover(text)}
    assert "Spike Spiegel" in cast and "Spike" in cast["Spike Spiegel"].aliases
    assert cast["Spike Spiegel"].gender == "male" and cast["Julia"].gender == "female"
    assert not {"Monday", "Sunnydale", "Suddenly", "Hey"} & set(cast)


def test_automatic_casting_is_distinct_gendered_and_stable():
    work = parse_text('"A," said Willow.\n\n"B," said Spike.\n\n"C," said Willow.\n\n"D," said Darcy.')
    for chapter in work.chapters:
        chapter.segments = segment_chapter(chapter, None)
    attribute(work, CAST)
    config = load_config()
    entries = cast_voices(work, CAST, config)
    voices = [(e.voice.voice, e.voice.pitch) for e in entries.values()]
    assert len(set(voices)) == len(voices)
    reserved = {config.narrator.voice, config.dialogue.voice}
    assert not reserved & {v for v, _ in voices}
    assert "+f" in entries["Willow Rosenberg"].voice.voice and "+m" in entries["Spike"].voice.voice
    assert entries["Willow Rosenberg"].lines == 2
    assert cast_voices(work, CAST, config) == entries


def script_records(*args):
    result = run_cli("script", *args, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_recasting_one_character_in_the_work_file_changes_only_that_voice(tmp_path):
    out = tmp_path / "out"
    first = run_cli("render", EXAMPLE, "-o", out)
    assert first.returncode == 0, first.stderr
    cast_file = next(out.glob("*/voices.toml"))
    text = cast_file.read_text()
    assert '[characters."Mara"]' in text and '[characters."Tobias"]' in text
    before = script_records(EXAMPLE, "-o", out)
    old_voice = next(r["voice"] for r in before if r["speaker"] == "Tobias")
    cast_file.write_text(text.replace(f'voice = "{old_voice}"', 'voice = "en-gb-scotland+m7"', 1))
    after = script_records(EXAMPLE, "-o", out)
    for a, b in zip(before, after):
        if a["speaker"] == "Tobias":
            assert b["voice"] == "en-gb-scotland+m7"
        else:
            assert a == b
    again = run_cli("render", EXAMPLE, "-o", out)
    tobias_lines = {r["text"] for r in before if r["speaker"] == "Tobias"}
    assert f"{len(tobias_lines)} synthesized" in again.stdout, again.stdout


def test_a_beat_never_makes_someone_call_themselves_by_name():
    line = said('Spike lay still on the cot. "Spike? Are you awake?"')[0]
    assert line[1] != "Spike"
