import pytest

from audiofic.config import load_config, pauses, role_voice, split_variant
from audiofic.errors import AudioficError


def test_defaults_have_narrator_dialogue_and_pauses():
    config = load_config()
    assert role_voice(config, "narrator").engine == "pyttsx3"
    assert role_voice(config, "narrator").voice != role_voice(config, "dialogue").voice
    assert set(pauses(config)) >= {"head", "heading", "paragraph", "scene", "tail", "turn"}


def test_a_layer_changes_only_what_it_names(tmp_path):
    layer = tmp_path / "v.toml"
    layer.write_text("[narrator]\nrate = 190\n")
    base, layered = load_config(), load_config(layer)
    assert role_voice(layered, "narrator").rate == 190
    assert role_voice(layered, "narrator").voice == role_voice(base, "narrator").voice
    assert layered["dialogue"] == base["dialogue"] and layered["pauses"] == base["pauses"]


def test_layers_apply_in_order(tmp_path):
    work_file, user_file = tmp_path / "work.toml", tmp_path / "user.toml"
    work_file.write_text("[narrator]\nrate = 150\npitch = 40\n")
    user_file.write_text("[narrator]\nrate = 200\n")
    narrator = role_voice(load_config(work_file, user_file), "narrator")
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
