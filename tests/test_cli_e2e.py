"""End to end through the real command line: real espeak-ng, ffmpeg, files read back by ffprobe and mutagen."""

import os
import re
import shutil
import stat

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from conftest import EXAMPLE, assert_one_line_error, ffprobe, run_cli, script_records


def mp3s(folder):
    return sorted(p for p in folder.rglob("*.mp3") if not p.name.startswith("."))


def test_render_seed_004_tags_and_speaking_rate(seed004, tmp_path):
    result = run_cli("render", seed004, "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "Audio saved" not in result.stdout
    files = mp3s(tmp_path)
    assert len(files) == 1
    probe = ffprobe(files[0])
    tags = {k.lower(): v for k, v in probe["format"]["tags"].items()}
    assert tags["genre"] == "Audiobook"
    assert tags["track"] == "1/1"
    assert tags["album"] == tags["title"]  # one untitled chapter: titled as the work
    stream = probe["streams"][0]
    assert (stream["codec_name"], stream["channels"], stream["sample_rate"]) == ("mp3", 1, "22050")
    id3 = ID3(files[0])
    assert id3.version[:2] == (2, 3)
    assert str(id3["TCON"]) == "Audiobook" and str(id3["TRCK"]) == "1/1"
    assert str(id3["TPE1"]) == str(id3["TPE2"])
    words = len(re.findall(r"[^\W_]+", seed004.read_text("utf-8")))
    minutes = float(probe["format"]["duration"]) / 60
    assert 120 <= words / minutes <= 260, words / minutes
    assert "rendered" in result.stdout and "real time" in result.stdout


def test_render_example_three_chapters_in_order(tmp_path):
    result = run_cli("render", EXAMPLE, "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    files = mp3s(tmp_path)
    assert [f.name for f in files] == [
        "01 - Chapter One - The Knock.mp3",
        "02 - Chapter Two - Tea and Questions.mp3",
        "03 - Chapter Three - The Morning After.mp3",
    ]
    for n, f in enumerate(files, 1):
        id3 = ID3(f)
        assert str(id3["TRCK"]) == f"{n}/3"
        assert str(id3["TALB"]) == "The Lighthouse Keeper's Cat"
        assert str(id3["TPE1"]) == "The audiofic developers"
        assert "Biscuit" in str(id3.getall("COMM")[0])
        assert str(id3["TIT2"]).startswith("Chapter")
        assert MP3(f).info.length > 20
    assert not list(tmp_path.rglob("*.partial"))


def test_render_one_chapter(tmp_path):
    result = run_cli("render", EXAMPLE, "-o", tmp_path, "--chapter", "2")
    assert result.returncode == 0, result.stderr
    assert [f.name[:2] for f in mp3s(tmp_path)] == ["02"]


def test_script_jsonl_seed_000(seed000):
    records = script_records(seed000)
    assert len({r["chapter"] for r in records}) == 11
    assert set(records[0]) >= {"chapter", "title", "index", "kind", "speaker", "voice", "text", "start", "end"}
    decoded = seed000.read_text("utf-8-sig")
    for r in records:
        assert r["text"].strip()
        if r["kind"] != "heading":
            assert decoded[r["start"]:r["end"]] == r["text"]
    assert {r["kind"] for r in records} == {"heading", "narration", "dialogue"}
    assert records[0]["kind"] == "heading" and "In Bits and Pieces" in records[0]["text"]


def test_script_text_and_voices_and_help():
    result = run_cli("script", EXAMPLE)
    assert result.returncode == 0 and "dialogue" in result.stdout and "Chapter Two" in result.stdout
    listing = run_cli("voices")
    assert listing.returncode == 0 and "en-us" in listing.stdout and "f3" in listing.stdout
    for args in ([], ["render"], ["script"], ["voices"]):
        assert run_cli(*args, "--help").returncode == 0


def test_voices_layer_changes_rate(tmp_path):
    voices = tmp_path / "v.toml"
    voices.write_text("[narrator]\nrate = 260\n")
    fast = run_cli("render", EXAMPLE, "-o", tmp_path / "fast", "--voices", voices, "--chapter", "1")
    normal = run_cli("render", EXAMPLE, "-o", tmp_path / "normal", "--chapter", "1")
    assert fast.returncode == 0 and normal.returncode == 0, fast.stderr + normal.stderr
    assert MP3(mp3s(tmp_path / "fast")[0]).info.length < MP3(mp3s(tmp_path / "normal")[0]).info.length * 0.9


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "binary", "no-text"])
def test_bad_input_is_one_line(tmp_path, case):
    path = tmp_path / "story.txt"
    if case == "directory":
        path.mkdir()
    elif case == "empty":
        path.write_text("")
    elif case == "binary":
        path.write_bytes(bytes(range(256)) * 40)
    elif case == "no-text":
        path.write_text("Title: Nothing\nAuthor: Nobody\n\n***\n\n~*~\n")
    for command in ("render", "script"):
        result = run_cli(command, path, "-o", tmp_path / "out")
        assert_one_line_error(result)
    assert not mp3s(tmp_path)


def test_unknown_voice_is_one_line_naming_voices(tmp_path):
    voices = tmp_path / "v.toml"
    voices.write_text('[dialogue]\nvoice = "klingon"\n')
    result = run_cli("render", EXAMPLE, "-o", tmp_path / "out", "--voices", voices)
    assert_one_line_error(result)
    assert "klingon" in result.stderr and "en-us" in result.stderr
    assert not mp3s(tmp_path)


def test_missing_ffmpeg_is_one_line(tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    result = run_cli("render", EXAMPLE, "-o", tmp_path / "out", env={"PATH": str(empty_bin)})
    assert_one_line_error(result)
    assert "ffmpeg" in result.stderr


def test_missing_espeak_is_a_clear_error(monkeypatch):
    from audiofic.engines import pyttsx3_engine
    from audiofic.errors import AudioficError

    monkeypatch.setattr(pyttsx3_engine, "espeak_available", lambda: False)
    with pytest.raises(AudioficError, match="espeak-ng is not installed"):
        pyttsx3_engine.Pyttsx3Engine().voices()


def test_unwritable_output_is_one_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("render", EXAMPLE, "-o", blocker / "out")
    assert_one_line_error(result)
    assert "cannot write" in result.stderr


def test_failed_encode_leaves_no_file_under_a_final_name(tmp_path):
    """An ffmpeg that dies half-way: the earlier file stays as it was, no new file appears."""
    out = tmp_path / "out"
    first = run_cli("render", EXAMPLE, "-o", out, "--chapter", "1")
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in mp3s(out)}
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake = fake_bin / "ffmpeg"
    # Loudness is measured (to ffmpeg's null output "-") by the real ffmpeg; the encode dies half-way.
    real = shutil.which("ffmpeg")
    fake.write_text(f'#!/bin/sh\nfor a; do last=$a; done\nif [ "$last" = "-" ]; then exec {real} "$@"; fi\n'
                    'head -c 1000 > "$last"\necho boom >&2\nexit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    result = run_cli("render", EXAMPLE, "-o", out, "--force", "--jobs", "1",
                     env={"PATH": f"{fake_bin}{os.pathsep}{os.environ['PATH']}"})
    assert_one_line_error(result)
    assert "ffmpeg could not encode" in result.stderr and "boom" in result.stderr
    assert {p.name: p.read_bytes() for p in mp3s(out)} == before
    assert not [p for p in out.rglob("*") if p.name.endswith(".partial")]
