"""A hostile corpus, generated here: inputs, EPUBs, voices files, state files, faults, races and
`serve`. Nothing the user had may be lost, nothing may be used short or stale, nothing may be
written outside the output folder, and every failure is one line and a non-zero exit."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
from mutagen.id3 import ID3

import fanfic_fixtures as F
from audiofic.engines import get_engine
from audiofic.model import Voice
from conftest import EXAMPLE, assert_one_line_error, run_cli, script_records

STORY = """Title: {title}
Author: {author}
Summary: {summary}

# Chapter One: The Bell

The bell rang twice before anyone moved. Pell set down the kettle and looked at the door.

"Are you going to answer that?" asked Orla.

"I was hoping you would," said Pell.

# Chapter Two: The Door

Orla opened the door to nobody at all, only the wind and a folded note on the step.

"Well," she said, "that settles it."
"""


def story(tmp_path, name="story.txt", title="The Bell", author="Wren", summary="A bell, a door, a note.", raw=None):
    path = tmp_path / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(STORY.format(title=title, author=author, summary=summary), "utf-8")
    return path


def mp3s(folder):
    return sorted(p for p in Path(folder).rglob("*.mp3") if not p.name.startswith("."))


def decodes(path) -> bool:
    result = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-f", "null", "-"],
                            capture_output=True, text=True)
    return result.returncode == 0 and not result.stderr.strip()


def warnings_of(result):
    return [line for line in result.stderr.splitlines() if line.startswith("audiofic: warning: ")]


# ---------------------------------------------------------------- one work, one folder


def test_non_latin_titles_keep_their_letters_and_their_own_folders(tmp_path):
    out = tmp_path / "out"
    for title in ("灯塔看守人", "灯塔的猫"):
        result = run_cli("render", story(tmp_path, title=title), "-o", out, "--chapter", "1")
        assert result.returncode == 0, result.stderr
    folders = sorted(p.name for p in out.iterdir())
    assert folders == sorted(["灯塔看守人", "灯塔的猫"])
    guids = set()
    for folder in out.iterdir():
        assert len(mp3s(folder)) == 1
        guids |= set(__import__("re").findall(r"<guid[^>]*>([^<]+)</guid>", (folder / "feed.xml").read_text("utf-8")))
    assert len(guids) == 2


def test_a_folder_holding_another_work_is_refused_naming_both(tmp_path):
    out = tmp_path / "out"
    first = run_cli("render", story(tmp_path, "a.txt", title="Hello!", author="Ann"), "-o", out, "--chapter", "1")
    assert first.returncode == 0, first.stderr
    before = {p.name: p.read_bytes() for p in mp3s(out)}
    second = run_cli("render", story(tmp_path, "b.txt", title="Hello?", author="Bo"), "-o", out, "--chapter", "1")
    assert_one_line_error(second)
    assert "'Hello!' by Ann" in second.stderr and "'Hello?' by Bo" in second.stderr
    assert {p.name: p.read_bytes() for p in mp3s(out)} == before


@pytest.mark.parametrize("title, folder", [("AUX", "aux-work"), ("con", "con-work"), ("😀" * 70, "work"),
                                           ("Ẑ̵̢a̸l̷g̴o̴ ̴t̷e̶x̴t̵", "zalgo-text")])
def test_awkward_titles_give_safe_names(tmp_path, title, folder):
    result = run_cli("render", story(tmp_path, title=title), "-o", tmp_path / "out", "--chapter", "1")
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == [folder]
    for f in (tmp_path / "out" / folder).iterdir():
        assert len(f.name.encode("utf-8")) <= 200


def test_two_renders_at_once_never_leave_a_broken_file(tmp_path):
    out = tmp_path / "out"
    source = story(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "audiofic", "render", str(source), "-o", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    assert any(code == 0 for code, _ in results), results
    for code, err in results:
        assert code == 0 or ("is being rendered by process" in err and len(err.strip().splitlines()) == 1), err
    files = mp3s(out)
    assert len(files) == 2 and all(decodes(f) for f in files)
    assert not list(out.rglob("*.partial"))


def test_a_held_lock_names_its_holder(tmp_path):
    from audiofic.run.state import WorkLock

    out = tmp_path / "out"
    assert run_cli("render", story(tmp_path), "-o", out, "--chapter", "1").returncode == 0
    with WorkLock(out / "the-bell"):
        result = run_cli("render", story(tmp_path), "-o", out)
    assert_one_line_error(result)
    assert f"process {os.getpid()}" in result.stderr


# ---------------------------------------------------------------- nothing used short, the same every time


def test_synthesis_is_repeatable_in_any_order(tmp_path):
    engine = get_engine("pyttsx3")
    a, b = Voice("pyttsx3", "en-us", 175, 50, 1.0), Voice("pyttsx3", "en-gb-x-rp+f3", 190, 60, 0.9)
    line = "The bell rang twice before anyone moved, and then it rang again."
    other = "Orla opened the door to nobody at all!"
    outputs = []
    for i, (text, voice) in enumerate([(line, a), (other, b), (line, a), (other, a), (line, b), (line, a)]):
        engine.synthesize(text, voice, tmp_path / f"{i}.wav")
        outputs.append((text, voice, (tmp_path / f"{i}.wav").read_bytes()))
    same = [data for text, voice, data in outputs if (text, voice) == (line, a)]
    assert len(same) == 3 and same[0] == same[1] == same[2]


def test_two_clean_renders_are_byte_identical(tmp_path):
    source = story(tmp_path)
    for name in ("one", "two"):
        assert run_cli("render", source, "-o", tmp_path / name).returncode == 0
    one, two = mp3s(tmp_path / "one"), mp3s(tmp_path / "two")
    assert [f.read_bytes() for f in one] == [f.read_bytes() for f in two]


def test_a_cache_entry_cut_short_is_synthesized_again(tmp_path):
    out = tmp_path / "out"
    source = story(tmp_path)
    assert run_cli("render", source, "-o", out).returncode == 0
    before = [f.read_bytes() for f in mp3s(out)]
    state = out / "the-bell" / ".audiofic"
    used = json.loads((state / "manifest.json").read_text())["chapters"]["1"]["segments"]
    victim = max((state / "cache" / key[:2] / f"{key}.flac" for key in used), key=lambda p: p.stat().st_size)
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    again = run_cli("render", source, "-o", out, "--force")
    assert again.returncode == 0, again.stderr
    assert any("damaged" in w for w in warnings_of(again))
    assert [f.read_bytes() for f in mp3s(out)] == before  # never used short, and the same audio again


@pytest.mark.parametrize("content", [b"{garbage", b"[]", b"null", b'{"version": 2, "chapters": []}',
                                     b'{"version": 2, "chapters": {"1": null, "2": {"files": 3, "audio": 1}}}',
                                     b'{"version": 2, "chapters": {"1": {"audio": "x", "files": {"mp3": "a"}, '
                                     b'"segments": [null], "marks": []}}, "first_render": 5}'])
def test_a_damaged_manifest_is_rebuilt_with_a_warning(tmp_path, content):
    out = tmp_path / "out"
    source = story(tmp_path)
    assert run_cli("render", source, "-o", out).returncode == 0
    (out / "the-bell" / ".audiofic" / "manifest.json").write_bytes(content)
    again = run_cli("render", source, "-o", out)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert all(decodes(f) for f in mp3s(out)) and len(mp3s(out)) == 2
    pruned = run_cli("cache", "-o", out, "--prune")
    assert pruned.returncode == 0, pruned.stderr


@pytest.mark.parametrize("content", [b"\x00\x01garbage", b"[1, 2]", b'{"abc": null, "def": {"lufs": "loud"}}'])
def test_a_damaged_levels_file_is_measured_again(tmp_path, content):
    out = tmp_path / "out"
    source = story(tmp_path)
    assert run_cli("render", source, "-o", out).returncode == 0
    before = [f.read_bytes() for f in mp3s(out)]
    (out / "the-bell" / ".audiofic" / "cache" / "levels.json").write_bytes(content)
    again = run_cli("render", source, "-o", out, "--force")
    assert again.returncode == 0, again.stderr
    assert warnings_of(again) and [f.read_bytes() for f in mp3s(out)] == before


# ---------------------------------------------------------------- never outside the output folder


@pytest.mark.parametrize("link", [".audiofic", ".audiofic/cache", ""])
def test_links_inside_the_output_folder_are_not_followed(tmp_path, link):
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = out / "the-bell" / link if link else out / "the-bell"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(elsewhere, target_is_directory=True)
    result = run_cli("render", story(tmp_path), "-o", out)
    assert_one_line_error(result)
    assert "symbolic link" in result.stderr
    assert not list(elsewhere.rglob("*"))


# ---------------------------------------------------------------- faults end cleanly


def test_a_full_disk_ends_in_one_line_and_the_next_render_resumes(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot mount a small filesystem here (needs root)")
    try:
        started = time.monotonic()
        result = run_cli("render", EXAMPLE, "-o", disk / "out", timeout=120)
        assert time.monotonic() - started < 60
        assert_one_line_error(result)
        assert "No space left on device" in result.stderr or "space" in result.stderr
        for f in mp3s(disk):
            assert decodes(f)  # whatever has a final name is whole
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_a_killed_worker_ends_in_one_line_and_the_next_render_resumes(tmp_path):
    long_story = tmp_path / "long.md"
    text = EXAMPLE.read_text("utf-8")
    long_story.write_text(text + "\n\n" + "\n\n".join(f"# Chapter {n}: More\n\n" + text.split("# Chapter One: The Knock")[1]
                                                     for n in range(4, 40)), "utf-8")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "audiofic", "render", str(long_story), "-o", str(out), "-j", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = None
    deadline = time.monotonic() + 60
    while worker is None and time.monotonic() < deadline and proc.poll() is None:
        for pid in os.listdir("/proc"):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if parent == proc.pid and b"spawn_main" in cmd:
                worker = int(pid)
                break
        time.sleep(0.05)
    if worker is None:
        proc.wait()
        pytest.skip("the render finished before a worker could be caught")
    os.kill(worker, signal.SIGKILL)
    code = proc.wait(timeout=120)
    err = proc.stderr.read()
    assert code != 0 and "worker died" in err and len(err.strip().splitlines()) == 1, err
    again = run_cli("render", long_story, "-o", out)
    assert again.returncode == 0, again.stderr
    assert all(decodes(f) for f in mp3s(out))


def test_kill_9_at_random_moments_then_resume_leaves_every_file_whole(tmp_path):
    out = tmp_path / "out"
    rng = random.Random(20261122)
    for _ in range(4):
        proc = subprocess.Popen([sys.executable, "-m", "audiofic", "render", str(EXAMPLE), "-o", str(out), "--force",
                                 "--format", "mp3", "--format", "m4b"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(0.3, 3.0))
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        for f in list(mp3s(out)) + list(out.rglob("*.m4b")):
            if not f.name.startswith("."):
                assert decodes(f), f
    final = run_cli("render", EXAMPLE, "-o", out, "--format", "mp3", "--format", "m4b")
    assert final.returncode == 0, final.stderr
    files = mp3s(out) + sorted(out.rglob("*.m4b"))
    assert len(files) == 4 and all(decodes(f) for f in files)


# ---------------------------------------------------------------- decode what people have


def test_utf16_with_bom_is_read(tmp_path):
    text = STORY.format(title="Wide", author="Wren", summary="Saved by Notepad.")
    for codec in ("utf-16", "utf-16-be", "utf-32"):
        path = story(tmp_path, f"{codec}.txt", raw=text.encode(codec) if codec != "utf-16-be"
                     else b"\xfe\xff" + text.encode("utf-16-be"))
        records = script_records(path)
        assert records[0]["text"].startswith("Wide. By Wren.")
        assert any("answer that?" in r["text"] for r in records)


def test_a_stray_byte_keeps_the_rest_utf8(tmp_path):
    text = STORY.format(title="Café Noir", author="Zoë", summary="Crème brûlée.").encode("utf-8")
    path = story(tmp_path, raw=text.replace(b"kettle", b"kett\xe9le"))
    result = run_cli("script", path, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert any("not valid UTF-8, replaced" in w for w in warnings_of(result))
    assert "Café Noir. By Zoë." in result.stdout and "Crème brûlée" in result.stdout


def test_a_file_name_that_is_not_utf8_and_a_console_that_is_not(tmp_path):
    name = os.fsdecode(b"caf\xe9 story.txt")
    path = tmp_path / name
    path.write_text(STORY.format(title="", author="Wren", summary="x").replace("Title: \n", ""), "utf-8")
    result = run_cli("render", path, "-o", tmp_path / "out", "--chapter", "1")
    assert result.returncode == 0, result.stderr
    assert len(mp3s(tmp_path / "out")) == 1
    shown = run_cli("script", story(tmp_path, title="Emoji 😀 ünïcödé"), env={"PYTHONIOENCODING": "ascii"})
    assert shown.returncode == 0, shown.stderr


def test_control_characters_never_reach_tags_or_the_feed(tmp_path):
    import podcastparser

    path = story(tmp_path, title="Bell\x07 and\x1b[31m Door", author="Wren", summary="Sum\x01mary.")
    result = run_cli("render", path, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    folder = next((tmp_path / "out").iterdir())
    with open(folder / "feed.xml", "rb") as fh:
        feed = podcastparser.parse("file://feed.xml", fh)
    assert feed["title"] == "Bell and [31m Door" and len(feed["episodes"]) == 2
    tags = ID3(mp3s(folder)[0])
    assert not any(ord(c) < 32 for c in str(tags["TALB"]) + str(tags["TPE1"]))


def test_zalgo_and_long_unpunctuated_paragraphs_are_spoken_whole(tmp_path):
    rng = random.Random(7)
    words = [rng.choice(["river", "stone", "lantern", "morning", "quiet", "harbour"]) for _ in range(4000)]
    zalgo = "Ẑ̵̢a̸l̷g̴o̴ ̴w̷o̸r̵d̴s̷ ̶h̶e̴r̶e̵ and plain words after them."
    path = story(tmp_path, raw=f"Title: Flood\nAuthor: Wren\n\n{zalgo}\n\n{' '.join(words)}\n".encode())
    records = script_records(path)
    spoken = " ".join(r["text"] for r in records if r["kind"] == "narration")
    assert spoken.split()[-4000:] == words  # every word, in order
    assert max(len(r["text"]) for r in records) < 2000
    result = run_cli("render", path, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr


def test_a_30k_word_paragraph_without_punctuation_does_not_recurse(tmp_path):
    words = " ".join(["word"] * 300_000)
    path = story(tmp_path, raw=f"Title: Wall\n\n{words}\n".encode())
    result = run_cli("script", path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr[-500:]


# ---------------------------------------------------------------- refuse what cannot be read


def _epub_with(tmp_path, name, extra=None, opf_codec=None, spine_repeat=1, corrupt=None):
    docs = [("one.xhtml", F._xhtml("One", "<p>The only chapter, with words in it.</p>"))]
    path = F.write_epub(tmp_path / name, docs, F.DC, extra=extra)
    if opf_codec or spine_repeat > 1 or corrupt:
        with zipfile.ZipFile(path) as z:
            members = {i.filename: z.read(i.filename) for i in z.infolist()}
        opf = members["OEBPS/content.opf"].decode()
        if spine_repeat > 1:
            opf = opf.replace('<itemref idref="d0"/>', '<itemref idref="d0"/>' * spine_repeat)
        if opf_codec:
            opf = opf.replace('encoding="UTF-8"', f'encoding="{opf_codec}"').replace(
                "<package", '<!DOCTYPE package [<!ENTITY e "entity">]><package', 1)
            members["OEBPS/content.opf"] = opf.encode(opf_codec)
        else:
            members["OEBPS/content.opf"] = opf.encode()
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for member, data in members.items():
                z.writestr(member, data)
        if corrupt:
            corrupt(path)
    return path


def _flip_deflate_bytes(path):
    data = bytearray(path.read_bytes())
    at = data.find(b"OEBPS/one.xhtml") + len("OEBPS/one.xhtml") + 5
    for i in range(at, at + 12):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def _bad_crc(path):
    """The chapter stored uncompressed, one letter of it changed: its CRC no longer matches."""
    with zipfile.ZipFile(path) as z:
        members = {i.filename: z.read(i.filename) for i in z.infolist()}
    with zipfile.ZipFile(path, "w") as z:
        for member, data in members.items():
            z.writestr(member, data, compress_type=zipfile.ZIP_STORED)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"The only chapter", b"The only chaptex", 1))


@pytest.mark.parametrize("case", ["encrypted", "rights", "utf16-entity", "utf32-entity", "corrupt-deflate"])
def test_epubs_that_cannot_be_read_are_refused(tmp_path, case):
    if case == "encrypted":
        path = _epub_with(tmp_path, "drm.epub", extra={"META-INF/encryption.xml": (
            '<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><EncryptedData>'
            '<CipherData><CipherReference URI="OEBPS/one.xhtml"/></CipherData></EncryptedData></encryption>')})
    elif case == "rights":
        path = _epub_with(tmp_path, "rights.epub", extra={"META-INF/rights.xml": "<rights/>"})
    elif case == "utf16-entity":
        path = _epub_with(tmp_path, "u16.epub", opf_codec="UTF-16")
    elif case == "utf32-entity":
        path = _epub_with(tmp_path, "u32.epub", opf_codec="UTF-32")
    else:
        path = _epub_with(tmp_path, "corrupt.epub", corrupt=_flip_deflate_bytes)
    result = run_cli("render", path, "-o", tmp_path / "out")
    assert_one_line_error(result)
    assert not mp3s(tmp_path)


def test_a_font_only_encryption_file_is_no_drm(tmp_path):
    path = _epub_with(tmp_path, "fonts.epub", extra={"META-INF/encryption.xml": (
        '<encryption><EncryptedData><CipherData><CipherReference URI="OEBPS/font.otf"/></CipherData>'
        "</EncryptedData></encryption>")})
    assert run_cli("script", path).returncode == 0


def test_a_spine_that_repeats_one_member_is_read_once(tmp_path):
    path = _epub_with(tmp_path, "repeat.epub", spine_repeat=4000)
    started = time.monotonic()
    result = run_cli("script", path, "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 30
    assert sum("The only chapter" in line for line in result.stdout.splitlines()) == 1


def test_a_bad_crc_is_one_line(tmp_path):
    path = _epub_with(tmp_path, "crc.epub", corrupt=_bad_crc)
    assert_one_line_error(run_cli("script", path))


@pytest.mark.parametrize("content, expected", [
    ("a = " + "[" * 2000 + "]" * 2000 + "\n", "voices"),
    ('[characters.Pell]\nrate = "fast"\n', "wrong type"),
    ("[characters.Pell]\nvoice = 3\n", "wrong type"),
    ("[characters.Pell]\nrate = 10000\n", "outside"),
])
def test_bad_voices_files_are_one_line(tmp_path, content, expected):
    voices = tmp_path / "v.toml"
    voices.write_text(content)
    result = run_cli("render", story(tmp_path), "-o", tmp_path / "out", "--voices", voices)
    assert_one_line_error(result)
    assert expected in result.stderr or "TOML" in result.stderr


def test_overrides_that_point_nowhere_are_named(tmp_path):
    voices = tmp_path / "v.toml"
    voices.write_text('[overrides]\n"9:1" = "Pell"\n"1:0" = "Pell"\n"1:2" = "Nobody"\n')
    result = run_cli("script", story(tmp_path), "--voices", voices)
    assert result.returncode == 0, result.stderr
    said = "\n".join(warnings_of(result))
    assert '"9:1" = "Pell"' in said and '"1:0" = "Pell"' in said and '"1:2" = "Nobody"' in said


def test_a_cover_bomb_is_refused_before_decoding(tmp_path):
    from PIL import Image

    bomb = tmp_path / "bomb.png"
    Image.new("1", (12000, 9000)).save(bomb)  # 108 megapixels, a few KB on disk
    assert bomb.stat().st_size < 200_000
    started = time.monotonic()
    result = run_cli("render", story(tmp_path), "-o", tmp_path / "out", "--cover", bomb)
    assert_one_line_error(result)
    assert "megapixels" in result.stderr or "not a readable" in result.stderr
    assert time.monotonic() - started < 20


# ---------------------------------------------------------------- outputs that stay true


def test_every_output_file_has_the_audio_files_mode(tmp_path):
    out = tmp_path / "out"
    assert run_cli("render", story(tmp_path), "-o", out).returncode == 0
    folder = out / "the-bell"
    mode = mp3s(folder)[0].stat().st_mode & 0o777
    for name in ("feed.xml", "cover.jpg", "playlist.m3u8", "voices.toml"):
        assert (folder / name).stat().st_mode & 0o777 == mode, name


def test_an_m4b_a_render_did_not_refresh_is_reported_stale(tmp_path):
    out = tmp_path / "out"
    source = story(tmp_path)
    assert run_cli("render", source, "-o", out, "--format", "mp3", "--format", "m4b").returncode == 0
    voices = tmp_path / "v.toml"
    voices.write_text("[narrator]\nrate = 200\n")
    one = run_cli("render", source, "-o", out, "--format", "m4b", "--chapter", "2", "--voices", voices)
    assert one.returncode == 0 and "m4b stale" in one.stdout, one.stdout + one.stderr
    mp3_only = run_cli("render", source, "-o", out, "--voices", voices)
    assert mp3_only.returncode == 0 and "m4b stale" in mp3_only.stdout
    rebuilt = run_cli("render", source, "-o", out, "--format", "mp3", "--format", "m4b", "--voices", voices)
    assert "m4b written" in rebuilt.stdout


def test_no_pulseaudio_state_is_left_in_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = run_cli("render", story(tmp_path), "-o", tmp_path / "out", env={"HOME": str(home)})
    assert result.returncode == 0, result.stderr
    assert not list(home.rglob("*pulse*"))


# ---------------------------------------------------------------- serve


@pytest.fixture
def server(tmp_path):
    out = tmp_path / "out"
    assert run_cli("render", story(tmp_path), "-o", out, "--chapter", "1").returncode == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "audiofic", "serve", str(out), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield port, out
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert "Traceback" not in err and "Error" not in err, err


def _raw(port, request: bytes, read=True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        if not read:
            return b""
        data = b""
        while chunk := s.recv(65536):
            data += chunk
        return data


def test_serve_answers_malformed_requests_with_status_codes(server):
    port, out = server
    mp3 = mp3s(out)[0].relative_to(out).as_posix().replace(" ", "%20")
    cases = [
        (b"GET /a%00b HTTP/1.0\r\n\r\n", (b"400", b"404")),
        (b"GET /" + b"a" * 5000 + b" HTTP/1.0\r\n\r\n", (b"400", b"404", b"414")),
        (f"GET /{mp3} HTTP/1.0\r\nRange: bytes={'9' * 5000}-\r\n\r\n".encode(), (b"416",)),
        (f"GET /{mp3} HTTP/1.0\r\nRange: bytes=999999999-\r\n\r\n".encode(), (b"416",)),
        (b"GET /nothing/here.mp3 HTTP/1.0\r\n\r\n", (b"404",)),
        (b"BLAH\r\n\r\n", (b"400",)),
    ]
    for request, codes in cases:
        status = _raw(port, request).split(b"\r\n", 1)[0]
        assert any(code in status for code in codes), (request[:60], status)


def test_serve_stays_quiet_when_clients_hang_up_or_idle(server):
    port, out = server
    mp3 = mp3s(out)[0].relative_to(out).as_posix().replace(" ", "%20")
    for _ in range(5):  # hang up mid-download
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(f"GET /{mp3} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            s.recv(100)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    idle = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(100)]
    status = _raw(port, b"GET /the-bell/feed.xml HTTP/1.0\r\n\r\n").split(b"\r\n", 1)[0]
    assert b"200" in status  # idle clients do not starve the others
    for s in idle:
        s.close()


def test_serve_drops_an_idle_client_after_its_timeout(tmp_path):
    from audiofic.publish.serve import make_server

    server = make_server(tmp_path, "127.0.0.1", 0, idle_seconds=0.5)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=10) as s:
            started = time.monotonic()
            assert s.recv(10) == b""  # the server closed it
            assert time.monotonic() - started < 5
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("engine", ["os:abort", "sys:exit", "os:getpid", "antigravity:fly"])
def test_a_works_own_voices_file_is_data_never_code(tmp_path, engine):
    """A shared cast file that names code as an engine is refused before anything is imported,
    in one line naming the file and the character."""
    source = story(tmp_path)
    render = run_cli("render", source, "-o", tmp_path / "out")
    assert render.returncode == 0, render.stderr
    folder = next(p for p in (tmp_path / "out").iterdir() if p.is_dir())
    own = folder / "voices.toml"
    own.write_text(f'[characters.Pell]\nengine = "{engine}"\nvoice = "x"\n')
    for command in ("render", "script", "cast"):
        result = run_cli(command, source, "-o", tmp_path / "out")
        assert_one_line_error(result)
        assert str(own) in result.stderr and "Pell" in result.stderr and "--voices" in result.stderr, result.stderr


def test_an_engine_named_on_the_command_line_must_be_an_engine(tmp_path):
    voices = tmp_path / "v.toml"
    voices.write_text('[narrator]\nengine = "os:getpid"\nvoice = "x"\n')
    result = run_cli("script", story(tmp_path), "--voices", voices)
    assert_one_line_error(result)
    assert "not an audiofic engine" in result.stderr


def test_serve_stops_on_ctrl_c_even_when_started_with_it_ignored(tmp_path):
    """A shell starts a background job with SIGINT ignored; Ctrl-C (or kill -INT) still stops us."""
    (tmp_path / "out").mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "audiofic", "serve", str(tmp_path / "out"), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert proc.stdout.readline().startswith("http://")  # listening
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode in (0, 130) and "Traceback" not in err, err
