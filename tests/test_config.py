import pytest

from audiofic.casting.config import load_config
from audiofic.engines.pyttsx3_engine import split_variant
from audiofic.errors import AudioficError


def test_defaults_have_narrator_dialogue_and_pauses():
    config = load_config()
    assert config.narrator.engine == "pyttsx3"
    assert config.narrator.voice != config.dialogue.voice
    assert set(config.pauses.as_dict()) >= {"head", "heading", "paragraph", "scene", "tail", "turn"}


def test_a_layer_changes_only_what_it_names(tmp_path):
    layer = tmp_path / "v.toml"
    layer.write_text("[narrator]\nrate = 190\n")
    base, layered = load_config(), load_config(layer)
    assert layered.narrator.rate == 190
    assert layered.narrator.voice == base.narrator.voice
    assert layered.dialogue == base.dialogue and layered.pauses == base.pauses


def test_layers_apply_in_order(tmp_path):
    work_file, user_file = tmp_path / "work.toml", tmp_path / "user.toml"
    work_file.write_text("[narrator]\nrate = 150\npitch = 40\n")
    user_file.write_text("[narrator]\nrate = 200\n")
    narrator = load_config(work_file, user_file).narrator
    assert (narrator.rate, narrator.pitch) == (200, 40)


@pytest.mark.parametrize(
    "content, message",
    [
        ("[narrator]\nrat = 190\n", "no key 'rat'"),
        ("[narrator]\nrate = 'fast'\n", "wrong type"),
        ("[narrator]\nrate = 5000\n", "outside"),
        ("[pauses]\nscene = -3\n", "milliseconds"),
        ("[narator]\nrate = 190\n", "unknown table"),
        ("[narrator\n", "not valid TOML"),
        ('[characters.Mara]\nrate = "fast"\n', r"\[characters.'Mara'\] rate has the wrong type"),
        ("[characters.Mara]\nvoice = 3\n", "wrong type"),
        ("[characters.Mara]\nsped = 3\n", "no key 'sped'"),
        ("[characters.Mara]\nrate = 10000\n", "rate = 10000 is outside 80-500"),
        ("[characters.Mara]\nrate = 1\n", "outside"),
        ('[characters.Mara]\ngender = "robot"\n', "gender must be"),
        ('[characters.Mara]\naliases = [1]\n', "aliases must be a list of strings"),
        ('[characters]\nMara = "loud"\n', "must be a table"),
        ('[overrides]\n"x" = "Mara"\n', "chapter:segment"),
    ],
)
def test_bad_voices_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "v.toml"
    path.write_text(content)
    with pytest.raises(AudioficError, match=message):
        load_config(path)


def test_split_variant():
    assert split_variant("gmw/en-us+f3") == ("en-us", "f3")
    assert split_variant("en") == ("en", None)


def test_the_error_names_the_file_that_caused_it(tmp_path):
    good, bad = tmp_path / "good.toml", tmp_path / "bad.toml"
    good.write_text("[narrator]\nrate = 150\n")
    bad.write_text("[characters.Mara]\npitch = 120\n")
    with pytest.raises(AudioficError, match=r"bad\.toml: \[characters.'Mara'\] pitch = 120 is outside 0-99"):
        load_config(good, bad)


def test_characters_overrides_and_narrator_are_typed(tmp_path):
    path = tmp_path / "v.toml"
    path.write_text('narrator = "Mara"\n[characters.Mara]\naliases = ["M"]\ngender = "f"\nrate = 150\n'
                    '[overrides]\n"3:12" = "Mara"\n')
    config = load_config(path)
    (mara,) = config.characters
    assert (mara.name, mara.aliases, mara.gender, mara.voice.rate, mara.voice.voice) == ("Mara", ["M"], "female", 150, None)
    assert config.overrides == {(3, 12): "Mara"} and config.narrator_character == "Mara"
