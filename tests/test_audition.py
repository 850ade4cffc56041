"""Hear before you choose: a voice's sample and a cast's audition, real espeak-ng, read back."""

import tomllib
import wave

from conftest import EXAMPLE, assert_one_line_error, run_cli


def seconds(path):
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


def test_a_voice_sample_is_a_short_wav(tmp_path):
    out = tmp_path / "mara.wav"
    result = run_cli("voices", "--sample", "en-gb-x-rp+f4", "--out", out)
    assert result.returncode == 0, result.stderr
    assert 3 < seconds(out) < 20
    assert not list(tmp_path.glob(".*.partial"))
    assert_one_line_error(run_cli("voices", "--sample", "klingon", "--out", tmp_path / "k.wav"))


def test_a_cast_audition_is_one_numbered_file_per_cast_member_in_their_voice(tmp_path):
    out = tmp_path / "out"
    result = run_cli("cast", EXAMPLE, "-o", out, "--audition")
    assert result.returncode == 0, result.stderr
    folder = next(out.glob("*/audition"))
    files = sorted(p.name for p in folder.glob("*.wav"))
    listed = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip() and " p" in line]
    assert files == [f"{i:02d} - {name}.wav" for i, name in enumerate(listed, 1)]
    assert all(1 < seconds(folder / name) < 30 for name in files)
    # The audition is the cast a render then writes down.
    assert run_cli("render", EXAMPLE, "-o", out, "--chapter", "1").returncode == 0
    cast = tomllib.loads(next(out.glob("*/voices.toml")).read_text("utf-8"))["characters"]
    assert set(listed) == {name for name, entry in cast.items() if "voice" in entry}
