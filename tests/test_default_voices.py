"""The voices a fan hears without asking for any: natural (neural) voices for an English work
where the neural extra is installed, espeak-ng (classic) otherwise, and a work keeps the voices
it was first rendered with. Real engines, real files; tiny inputs."""

import tomllib

import pytest

from audiofic.casting.cast import cast_palette, cast_voices, narrator_for
from audiofic.casting.config import load_config, load_layers
from audiofic.errors import AudioficError
from audiofic.model import Work
from audiofic.story.characters import Character
from conftest import ffprobe, run_cli, script_records

STORY = """Title: The Bell
Author: Wren

# Chapter One: The Bell

The bell rang twice. Peter looked at the door.

"Are you going to answer that?" Orla asked him.

"I was hoping you would," said Peter. He rubbed his neck and did not move from his chair.

"Fine," Orla said, and she opened the door.
"""


def bell(tmp_path):
    story = tmp_path / "bell.txt"
    story.write_text(STORY, "utf-8")
    return story


def test_an_english_work_is_read_by_natural_voices_unless_asked_otherwise(natural_voices, tmp_path):
    story, out = bell(tmp_path), tmp_path / "out"
    result = run_cli("render", story, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "voices: narrator hibari/heart" in result.stdout and "--voices classic" in result.stdout
    records = script_records(story, "-o", out)
    narration = {r["engine"] for r in records if r["kind"] == "narration"}
    voices = {r["speaker"]: (r["engine"], r["voice"]) for r in records if r["kind"] == "dialogue"}
    assert narration == {"hibari"}
    assert voices["Peter"] == ("piper", "joe")  # a man: joe first
    assert voices["Orla"][0] in ("kokoro", "hibari") and voices["Orla"] != voices["Peter"]
    mp3 = next(out.glob("*/*.mp3"))
    assert float(ffprobe(mp3)["format"]["duration"]) > 10
    cast = tomllib.loads(next(out.glob("*/voices.toml")).read_text("utf-8"))
    assert cast["narrator"]["engine"] == "hibari" and cast["characters"]["Peter"]["voice"] == "joe"

    again = run_cli("render", story, "-o", out)  # the cast file keeps them: nothing to do
    assert again.returncode == 0 and "1 skipped" in again.stdout and "0 synthesized" in again.stdout


def test_classic_espeak_ng_when_asked_and_for_other_languages(natural_voices, tmp_path, monkeypatch):
    assert load_layers(tmp_path, None, "en")[0].narrator.engine == "hibari"
    assert load_layers(tmp_path, "classic", "en")[0].narrator.engine == "pyttsx3"
    assert load_layers(tmp_path, None, "fr")[0].narrator.engine == "pyttsx3"
    classic = load_layers(tmp_path, "classic", "en")[0]
    assert all(entry.startswith("pyttsx3/") for entry in cast_palette(classic).female)  # espeak-ng's cast
    monkeypatch.setenv("AUDIOFIC_VOICES", "classic")
    assert load_layers(tmp_path, None, "en")[0].narrator.engine == "pyttsx3"
    monkeypatch.setenv("AUDIOFIC_VOICES", "robots")
    with pytest.raises(AudioficError, match="AUDIOFIC_VOICES"):
        load_layers(tmp_path, None, "en")


def test_a_work_first_rendered_by_espeak_ng_keeps_its_voices_until_recast(natural_voices, tmp_path):
    story, out = bell(tmp_path), tmp_path / "out"
    work_dir = out / "the-bell"
    work_dir.mkdir(parents=True)
    old = ('# written by an espeak-ng render\n[characters."Peter"]\naliases = []\ngender = "male"\n'
           'engine = "pyttsx3"\nvoice = "en-us+m3"\npitch = 50\n\n'
           '[characters."Orla"]\naliases = []\ngender = "female"\nengine = "pyttsx3"\nvoice = "en+f2"\npitch = 50\n')
    (work_dir / "voices.toml").write_text(old, "utf-8")
    records = script_records(story, "-o", out)
    assert {r["engine"] for r in records} == {"pyttsx3"}

    result = run_cli("render", story, "-o", out, "--recast")
    assert result.returncode == 0, result.stderr
    assert (work_dir / "voices.toml.bak").read_text("utf-8") == old
    recast = tomllib.loads((work_dir / "voices.toml").read_text("utf-8"))
    assert recast["narrator"]["engine"] == "hibari" and recast["characters"]["Peter"]["voice"] == "joe"
    assert recast["characters"]["Orla"]["gender"] == "female"  # who is who stays
    assert {r["engine"] for r in script_records(story, "-o", out) if r["kind"] == "narration"} == {"hibari"}


def test_a_man_telling_his_own_story_is_read_by_a_man(natural_voices, tmp_path):
    config, _ = load_layers(tmp_path, None, "en")
    spike, julia, vicious = (Character("Spike", [], "male"), Character("Julia", [], "female"),
                             Character("Vicious", [], "male"))
    told = narrator_for(config, spike)
    assert (told.narrator.engine, told.narrator.voice) == ("piper", "joe")
    assert narrator_for(config, julia).narrator == config.narrator  # heart is already a woman's voice
    entries = cast_voices(Work("t", [], [], ""), [spike, julia, vicious], told, narrator="Spike")
    assert entries["Spike"].voice.voice == "joe"  # the narrator character speaks as the narrator reads
    assert (entries["Vicious"].voice.engine, entries["Vicious"].voice.voice) != ("piper", "joe")
    assert entries["Vicious"].voice.engine + "/" + entries["Vicious"].voice.voice in cast_palette(told).male

    own = tmp_path / "mine.toml"  # a narrator the user chose is theirs
    own.write_text('[narrator]\nengine = "hibari"\nvoice = "heart"\n', "utf-8")
    chosen, _ = load_layers(tmp_path, own, "en")
    assert narrator_for(chosen, spike).narrator.engine == "hibari"


def test_a_palette_is_data_and_follows_the_dialogue_engine(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[palette]\nmale = ["os.system:run/x"]\n', "utf-8")
    with pytest.raises(AudioficError, match="built-in engine"):
        load_config(bad)
    mixed = tmp_path / "mixed.toml"
    mixed.write_text('[dialogue]\nengine = "pyttsx3"\nvoice = "en-us"\n'
                     '[palette]\nfemale = ["pyttsx3/en+f4", "pyttsx3/no-such-voice", "pyttsx3/en-gb-x-rp+f2"]\nmale = ["pyttsx3/en+m7"]\n', "utf-8")
    palette = cast_palette(load_config(mixed))
    assert palette.female == ("pyttsx3/en+f4", "pyttsx3/en-gb-x-rp+f2") and palette.male == ("pyttsx3/en+m7",)
    other = tmp_path / "other.toml"  # a palette of engines the dialogue voice does not use is not this cast's
    other.write_text('[palette]\nfemale = ["kokoro/jf_alpha"]\n', "utf-8")
    assert cast_palette(load_config(other)).female[0].startswith("pyttsx3/")


def test_a_cast_file_names_the_narrator_character_and_the_narrators_voice(natural_voices, tmp_path):
    story, out, mine = bell(tmp_path), tmp_path / "out", tmp_path / "mine.toml"
    mine.write_text('narrator = "Peter"\n[characters.Peter]\ngender = "male"\n[characters.Orla]\ngender = "female"\n',
                    "utf-8")
    assert run_cli("render", story, "-o", out, "--voices", mine).returncode == 0
    cast = tomllib.loads(next(out.glob("*/voices.toml")).read_text("utf-8"))  # valid TOML: one [narrator]
    assert cast["narrator"]["character"] == "Peter" and cast["narrator"]["engine"] == "piper"  # a man tells it
    records = script_records(story, "-o", out)  # read back without --voices: the file alone
    assert {r["voice"] for r in records if r["speaker"] == "Peter"} == {cast["narrator"]["voice"]}


def test_classic_and_recast_turn_a_natural_cast_into_espeak_ng_keeping_genders(natural_voices, tmp_path):
    story, out = bell(tmp_path), tmp_path / "out"
    assert run_cli("render", story, "-o", out).returncode == 0  # Orla's gender comes from her first name
    assert run_cli("render", story, "-o", out, "--voices", "classic", "--recast").returncode == 0
    cast = tomllib.loads(next(out.glob("*/voices.toml")).read_text("utf-8"))["characters"]
    classic = cast_palette(load_layers(tmp_path, "classic", "en")[0])
    assert cast["Orla"]["engine"] == "pyttsx3" and f"pyttsx3/{cast['Orla']['voice']}" in classic.female
    assert f"pyttsx3/{cast['Peter']['voice']}" in classic.male
