"""The engine interface: a second engine renders a cast end to end with no change outside its module."""

import tomllib

from mutagen.mp3 import MP3

from audiofic.casting.cast import cast_voices
from audiofic.story.characters import Character
from audiofic.casting.config import load_config
from audiofic.engines import get_engine
from audiofic.run.plan import load_work
from conftest import EXAMPLE, ROOT, run_cli, script_records

TONE = "tone_engine:ToneEngine"
ENV = {"PYTHONPATH": str(ROOT / "tests")}


def tone_voices(tmp_path):
    path = tmp_path / "tone.toml"
    path.write_text(f'[narrator]\nengine = "{TONE}"\nvoice = "hum"\npitch = 5\n'
                    f'[dialogue]\nengine = "{TONE}"\nvoice = "tenor"\npitch = 5\n')
    return path


def test_a_tone_engine_renders_a_cast_end_to_end(tmp_path):
    voices = tone_voices(tmp_path)
    out = tmp_path / "out"
    result = run_cli("render", EXAMPLE, "-o", out, "--voices", voices, env=ENV)
    assert result.returncode == 0, result.stderr
    files = sorted(out.rglob("*.mp3"))
    assert len(files) == 3 and all(MP3(f).info.length > 20 for f in files)

    cast = tomllib.loads(next(out.rglob("voices.toml")).read_text("utf-8"))["characters"]
    assert {entry["engine"] for entry in cast.values()} == {TONE}
    chosen = [(entry["voice"], entry["pitch"]) for entry in cast.values()]
    assert {v for v, _ in chosen} <= {"bass", "alto", "soprano"}  # its palette, not the narrator's or dialogue's
    assert len(set(chosen)) == len(chosen) == 2  # and distinct

    records = script_records(EXAMPLE, "-o", out, "--voices", voices, env=ENV)
    assert {r["voice"] for r in records if r["kind"] == "narration"} == {"hum"}
    assert {r["voice"] for r in records if r["speaker"] in cast} == {v for v, _ in chosen}

    # The cast file now names the tone engine: it runs only where the user says so again.
    refused = run_cli("script", EXAMPLE, "-o", out, env=ENV)
    assert refused.returncode != 0 and "AUDIOFIC_ENGINES" in refused.stderr
    trusted = script_records(EXAMPLE, "-o", out, env=ENV | {"AUDIOFIC_ENGINES": "tone_engine"})
    assert {r["voice"] for r in trusted if r["speaker"] in cast} == {v for v, _ in chosen}


def test_a_character_voice_outside_its_engines_range_is_refused(tmp_path):
    voices = tone_voices(tmp_path)
    voices.write_text(voices.read_text() + '[characters.Mara]\npitch = 50\n')
    result = run_cli("script", EXAMPLE, "--voices", voices, env=ENV)
    assert result.returncode != 0 and "pitch = 50 is outside 0-10" in result.stderr


def test_casting_draws_from_the_engines_palette_by_gender():
    config = load_config()
    work = load_work(EXAMPLE)
    cast = [Character("Ann", gender="female"), Character("Bob", gender="male"), Character("Kit")]
    entries = cast_voices(work, cast, config)
    palette = get_engine("pyttsx3").palette("en-us")
    assert entries["Ann"].voice.voice in palette.female
    assert entries["Bob"].voice.voice in palette.male
    reserved = {config.narrator.voice, config.dialogue.voice}
    assert not reserved & {e.voice.voice for e in entries.values()}


def test_an_engine_gives_its_voice_for_a_language():
    engine = get_engine("pyttsx3")
    assert engine.voice_for_language("es") == "es"
    assert engine.voice_for_language("es", "dialogue").startswith("es+")
    assert engine.voice_for_language("xx-nosuch") is None
