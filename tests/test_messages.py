"""Messages a fan understands: what is wrong, where, and what to do instead."""

from audiofic.run.job import Report, speed
from conftest import EXAMPLE, assert_one_line_error, run_cli


def test_an_unknown_voice_names_the_file_the_character_and_close_matches(tmp_path):
    voices = tmp_path / "mine.toml"
    voices.write_text('[characters.Mara]\nvoice = "en-uss"\n')
    result = run_cli("script", EXAMPLE, "--voices", voices, "-o", tmp_path / "out")
    assert_one_line_error(result)
    line = result.stderr.strip()
    assert str(voices) in line and "Mara" in line and "en-us" in line and "Did you mean" in line
    assert len(line) < 300  # not a list of every voice


def test_rendering_a_folder_suggests_a_shelf(tmp_path):
    (tmp_path / "downloads").mkdir()
    result = run_cli("render", tmp_path / "downloads", "-o", tmp_path / "out")
    assert_one_line_error(result)
    assert "audiofic shelf" in result.stderr


def test_speed_below_real_time_is_never_zero():
    assert speed(40, 100) == "0.4x" and speed(3, 1000) == "0.003x"
    assert speed(500, 10) == "50x" and speed(25, 10) == "2.5x"
    assert "(0.4x real time)" in Report(audio_seconds=40, wall_seconds=100).line()


def test_a_chapter_render_says_which_other_chapters_a_change_reached(tmp_path):
    out = tmp_path / "out"
    assert run_cli("render", EXAMPLE, "-o", out).returncode == 0
    slower = tmp_path / "slower.toml"
    slower.write_text("[narrator]\nrate = 150\n")
    result = run_cli("render", EXAMPLE, "-o", out, "--voices", slower, "--chapter", "2")
    assert result.returncode == 0, result.stderr
    assert "out of date now: chapters 1, 3" in result.stdout


def test_voices_lists_what_casting_gives_with_its_gender():
    result = run_cli("voices", "--engine", "pyttsx3", "-l", "en")
    assert result.returncode == 0, result.stderr
    cast = [line.split() for line in result.stdout.splitlines() if " cast voice " in line]
    assert cast and all(gender == ("female" if "+f" in voice else "male") for voice, *_rest, gender in cast)


def test_cast_shows_merges_and_why_each_gender(tmp_path):
    story = tmp_path / "ferry.txt"
    story.write_text("Title: The Ferry\nAuthor: Wren\n\n# Chapter 1\n\n"
                     "Tobias came down to the harbour at dawn. He carried his nets. Mara was mending a sail. "
                     "She did not look up.\n\n\"You're late,\" said Mara.\n\n\"The tide was wrong,\" Tobias said. "
                     "He dropped the nets.\n\n# Chapter 2\n\nTobias Marr had lived on the island all his life. "
                     "He knew every rock.\n\n\"Let it wait,\" said Tobias Marr. He turned away.\n\n"
                     "\"Not with you,\" Mara said. She smiled anyway.\n", "utf-8")
    result = run_cli("cast", story, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:] if line.strip()}
    assert rows["Tobias"].startswith("Tobias Marr") and " Tobias" in rows["Tobias"][60:]  # one person, merged
    assert sum(line.startswith("Tobias") for line in rows.values()) == 1
    assert " male " in rows["Tobias"] and "he " in rows["Tobias"] and " female " in rows["Mara"] and "she " in rows["Mara"]
