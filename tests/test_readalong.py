"""Read along: captions per chapter (WebVTT and SRT, read back by webvtt-py), the feed's
Podcasting 2.0 transcripts and chapters (read back with lxml), timed from the audio."""

import json
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
import webvtt
from lxml import etree

from audiofic.publish.captions import Cue, segment_cues, sentences, tidy
from audiofic.sound.timing import sentence_starts
from conftest import EXAMPLE, ffprobe, run_cli, script_records

PODCAST = "https://podcastindex.org/namespace/1.0"


def words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:['’][^\W_]+)*", text.lower())


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    out = tmp_path_factory.mktemp("readalong")
    result = run_cli("render", EXAMPLE, "-o", out, "--captions")
    assert result.returncode == 0, result.stderr
    return out, next(p for p in out.iterdir() if p.is_dir())


def test_every_chapter_has_captions_in_order_within_the_file_holding_every_word(captioned):
    out, work = captioned
    records = script_records(EXAMPLE, "-o", out)
    mp3s = sorted(work.glob("*.mp3"))
    assert len(mp3s) == 3
    for number, mp3 in enumerate(mp3s, 1):
        duration = float(ffprobe(mp3)["format"]["duration"])
        said = [w for r in records if r["chapter"] == number for w in words(r["text"])]
        for kind in ("vtt", "srt"):
            cues = list(webvtt.read(mp3.with_suffix(".vtt")) if kind == "vtt" else webvtt.from_srt(mp3.with_suffix(".srt")))
            assert len(cues) >= 5
            starts = [seconds(c.start) for c in cues]
            ends = [seconds(c.end) for c in cues]
            assert all(s < e for s, e in zip(starts, ends))
            assert all(e <= s for e, s in zip(ends, starts[1:]))  # in order, never overlapping
            assert starts[0] >= 0 and ends[-1] <= duration + 0.001
            heard = [w for c in cues for w in words(c.text)]
            assert heard == said if kind == "vtt" else _srt_names_only(heard, said), (number, kind)


def seconds(clock: str) -> float:
    """webvtt-py's start_in_seconds is whole seconds: the cue's own time, to the millisecond."""
    h, m, s = clock.replace(",", ".").split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def _srt_names_only(heard, said):
    """SRT writes "Name: " before a character's line: its words are the script's plus names."""
    extra = list(heard)
    for w in said:
        if w not in extra:
            return False
        extra.remove(w)
    return True


def test_captions_name_the_characters_and_follow_sentences(captioned):
    _out, work = captioned
    cues = list(webvtt.read(next(work.glob("02 *.vtt"))))
    voiced = {c.voice for c in cues if c.voice}
    assert voiced and voiced <= {"Mara", "Tobias"}
    assert all(len(sentences(c.text)) <= 2 for c in cues)
    raw = next(work.glob("02 *.vtt")).read_text()
    assert "<v Tobias>" in raw or "<v Mara>" in raw


def test_the_feed_lists_both_transcripts_and_the_chapters_of_every_episode(captioned):
    _out, work = captioned
    feed = etree.parse(str(work / "feed.xml"))
    items = feed.findall(".//item")
    assert len(items) == 3
    for item in items:
        types = sorted(t.get("type") for t in item.findall(f"{{{PODCAST}}}transcript"))
        assert types == ["application/x-subrip", "text/vtt"]
        chapters = item.find(f"{{{PODCAST}}}chapters")
        assert chapters is not None and chapters.get("type") == "application/json+chapters"
        name = chapters.get("url").rsplit("/", 1)[1].replace("%20", " ")
        data = json.loads((work / name).read_text())
        assert data["version"] and data["chapters"][0]["startTime"] == 0
        assert all(m["img"].endswith("/cover.jpg") for m in data["chapters"])
        times = [m["startTime"] for m in data["chapters"]]
        assert times == sorted(times)
    scenes = json.loads(next(work.glob("02 *.chapters.json")).read_text())["chapters"]
    assert len(scenes) == 2  # chapter two has one scene break


def test_captions_come_to_a_rendered_work_without_a_new_encode_and_go_with_it(tmp_path):
    assert run_cli("render", EXAMPLE, "-o", tmp_path).returncode == 0
    work = next(p for p in tmp_path.iterdir() if p.is_dir())
    mp3s = {p: p.stat().st_mtime_ns for p in work.glob("*.mp3")}
    assert not list(work.glob("*.vtt"))
    result = run_cli("render", EXAMPLE, "-o", tmp_path, "--captions")
    assert "0 rendered, 3 skipped" in result.stderr + result.stdout
    assert len(list(work.glob("*.vtt"))) == 3 and {p: p.stat().st_mtime_ns for p in mp3s} == mp3s
    vtts = {p: p.stat().st_mtime_ns for p in work.glob("*.vtt")}
    run_cli("render", EXAMPLE, "-o", tmp_path, "--captions")
    assert {p: p.stat().st_mtime_ns for p in vtts} == vtts  # nothing changed, nothing written
    run_cli("render", EXAMPLE, "-o", tmp_path, "--chapter", "2", "--force")
    assert len(list(work.glob("*.vtt"))) == 2  # its audio changed without captions: its old ones go


def _burst(seconds: float, rate: int = 22050) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (8000 * np.sin(2 * np.pi * 220 * t)).astype("<i2")


def _quiet(seconds: float, rate: int = 22050) -> np.ndarray:
    return np.zeros(int(seconds * rate), dtype="<i2")


def test_sentences_start_after_the_pause_that_fits_them_not_at_their_share_of_letters():
    """Two sentences of equal letters, the first spoken slowly with a comma's breath in it:
    the boundary is the long pause at 3.4 s, not the comma's at 1.0 s nor the share at 2.2 s."""
    pcm = np.concatenate([_burst(1.0), _quiet(0.12), _burst(2.0), _quiet(0.4), _burst(1.0)])
    starts = sentence_starts(pcm.tobytes(), 22050, [40, 40])
    assert starts[0] == 0 and abs(starts[1] - 3.52) < 0.08, starts


def test_cues_hold_two_sentences_at_most_and_never_overlap():
    parts = ["One.", "Two.", "Three.", "Four is long."]
    cues = segment_cues(parts, [0.0, 1.0, 2.0, 20.0], 30.0, "Mara")
    assert [c.text for c in cues] == ["One. Two.", "Three.", "Four is long."]  # 15 s closes the second early
    tidied = tidy(cues + [Cue(0.5, 0.6, "Heading")], 25.0)
    assert all(a.end <= b.start for a, b in zip(tidied, tidied[1:])) and tidied[-1].end <= 25.0
    assert "Heading" in " ".join(c.text for c in tidied)  # squeezed, never dropped
    assert sentences('"Go." She went. Did she? Yes!') == ['"Go."', "She went.", "Did she?", "Yes!"]


def test_export_text_holds_every_word_with_its_speaker_and_the_scene_breaks(tmp_path):
    records = script_records(EXAMPLE)
    result = run_cli("export-text", EXAMPLE)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    told = [w for r in records if r["kind"] != "heading" for w in words(r["text"])]
    exported = words(re.sub(r"\[[^\]]+\] ", "", text))
    for w in set(told):
        assert exported.count(w) >= told.count(w), w
    line = next(r for r in records if r["kind"] == "dialogue" and r["speaker"])
    assert f"[{line['speaker']}] “{line['text']}”" in text
    chapter2 = text.split("2. Chapter Two", 1)[1].split("3. Chapter Three", 1)[0]
    assert chapter2.count("* * *") == 1  # its one scene break
    md = run_cli("export-text", EXAMPLE, "--format", "markdown", "--out", tmp_path / "work.md")
    assert md.returncode == 0 and not md.stdout
    written = (tmp_path / "work.md").read_text()
    assert written.startswith("# The Lighthouse Keeper") and "## 2. Chapter Two" in written
    assert f"**{line['speaker']}:**" in written


EPUBCHECK = Path("/usr/share/java/epubcheck.jar")  # Debian's epubcheck (install.sh)


@pytest.fixture(scope="module")
def epub(tmp_path_factory):
    out = tmp_path_factory.mktemp("epub")
    result = run_cli("render", EXAMPLE, "-o", out, "--format", "epub3")
    assert result.returncode == 0, result.stderr
    work = next(p for p in out.iterdir() if p.is_dir())
    return out, work, next(work.glob("*.epub"))


def test_the_epub_passes_epubcheck_with_no_error_and_no_warning(epub):
    _out, _work, book = epub
    check = subprocess.run(["java", "-jar", str(EPUBCHECK), str(book)], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0 and "0 errors / 0 warnings" in check.stdout + check.stderr, check.stdout + check.stderr


def test_the_epub_plays_every_word_of_every_chapter_in_order_with_its_reader(epub):
    out, work, book = epub
    records = script_records(EXAMPLE, "-o", out)
    with zipfile.ZipFile(book) as z:
        opf = etree.fromstring(z.read("EPUB/content.opf"))
        ns = {"opf": "http://www.idpf.org/2007/opf", "dc": "http://purl.org/dc/elements/1.1/"}
        assert opf.findtext(".//dc:title", namespaces=ns) == "The Lighthouse Keeper's Cat"
        assert opf.find(".//opf:item[@properties='cover-image']", ns) is not None
        for number, mp3 in enumerate(sorted(work.glob("*.mp3")), 1):
            page = etree.fromstring(z.read(f"EPUB/c{number:03d}.xhtml"))
            spans = {s.get("id"): s for s in page.iter("{http://www.w3.org/1999/xhtml}span")}
            smil = etree.fromstring(z.read(f"EPUB/c{number:03d}.smil"))
            pars = smil.findall(".//{http://www.w3.org/ns/SMIL}par")
            duration = float(ffprobe(mp3)["format"]["duration"])
            clips = [(float(a.get("clipBegin")[:-1]), float(a.get("clipEnd")[:-1]))
                     for a in smil.iter("{http://www.w3.org/ns/SMIL}audio")]
            assert all(b < e <= duration + 0.001 for b, e in clips)
            assert all(e <= b2 for (_b, e), (b2, _e) in zip(clips, clips[1:]))
            ids = [p.find("{http://www.w3.org/ns/SMIL}text").get("src").split("#")[1] for p in pars]
            assert ids == list(spans)  # every sentence is highlighted, in reading order
            heard = [w for i in ids for w in words(spans[i].text)]
            assert heard == [w for r in records if r["chapter"] == number for w in words(r["text"])]
            readers = {s.get("class") for s in spans.values()}
            assert "narrator" in readers and any(c.startswith("character c-") for c in readers)
            assert z.read(f"EPUB/audio/c{number:03d}.mp3") == mp3.read_bytes()


def test_the_epub_is_built_again_only_when_something_in_it_changed(epub):
    out, work, book = epub
    before = book.stat().st_mtime_ns
    run_cli("render", EXAMPLE, "-o", out, "--format", "epub3")
    assert book.stat().st_mtime_ns == before
    own = work / "voices.toml"
    own.write_text(own.read_text().replace('rate = 155', 'rate = 170', 1))
    assert run_cli("render", EXAMPLE, "-o", out, "--format", "epub3").returncode == 0
    assert book.stat().st_mtime_ns != before


def test_serve_gives_the_read_along_files_their_types(captioned):
    from audiofic.publish.serve import feed_app

    out, work = captioned
    client = feed_app(out).test_client()
    for suffix, mime in ((".vtt", "text/vtt"), (".srt", "application/x-subrip"),
                         (".chapters.json", "application/json+chapters")):
        name = next(work.glob(f"01 *{suffix}")).name
        response = client.get(f"/{work.name}/{name}", headers={"Host": "10.0.0.5:8000"})
        assert response.status_code == 200 and response.mimetype == mime, (suffix, response.mimetype)
    chapters = client.get(f"/{work.name}/{next(work.glob('01 *.chapters.json')).name}", headers={"Host": "10.0.0.5:8000"})
    assert all(m["img"].startswith("http://10.0.0.5:8000/") for m in json.loads(chapters.data)["chapters"])


def test_a_short_sentence_does_not_take_the_next_ones_pause():
    """A long first sentence spoken quickly (its letters put its end late, near the second
    pause): each boundary still gets its own pause, 4.35 s and 5.5 s."""
    pcm = np.concatenate([_burst(4.0), _quiet(0.35), _burst(0.8), _quiet(0.35), _burst(4.0)])
    starts = sentence_starts(pcm.tobytes(), 22050, [80, 12, 40])
    assert abs(starts[1] - 4.31) < 0.08 and abs(starts[2] - 5.46) < 0.08, starts


MARKED = """Title: Marks
Author: The audiofic developers

# One

Stupid, stupid, stupid! She kicked the door. The door did not care. Nothing in the house ever did, and she knew it.
"""


def test_a_later_sentence_starts_where_the_engine_said_it_began(tmp_path):
    """espeak-ng reports the sample at which each word begins; the cache keeps them (a FLAC
    comment, read here by mutagen) and a cue starts there, not at a pause it guessed."""
    from mutagen.flac import FLAC

    from audiofic.run.plan import Options, prepare
    from audiofic.run.state import Manifest, cache_dir_for
    from audiofic.sound.synthesize import cache_path

    story = tmp_path / "marks.md"
    story.write_text(MARKED, "utf-8")
    assert run_cli("render", story, "-o", tmp_path / "out", "--captions").returncode == 0
    ready = prepare(story, Options(output=tmp_path / "out"))
    record = Manifest.of(ready.out_dir).get(1)
    cp = ready.plan.chapters[0]
    cues = {c.text: seconds(c.start) for c in webvtt.read(ready.out_dir / (Path(cp.filename).stem + ".vtt"))}
    checked = 0
    for i, p in enumerate(cp.segments):
        parts = sentences(p.segment.text)
        if len(parts) < 3:
            continue
        comment = FLAC(cache_path(cache_dir_for(ready.out_dir, None), p.key))["comment"][0]
        marks = dict(pair.split(":") for pair in comment.split(":", 1)[1].split())
        for k in range(2, len(parts), 2):  # the sentences that open a cue (two to a cue)
            sample = int(marks[str(p.speech.index(parts[k]))])
            expected = record.starts[i] / 22050 + sample / 22050
            start = next(t for text, t in cues.items() if text.startswith(parts[k]))
            assert expected - 0.01 <= start <= expected + 0.15, (parts[k], start, expected)
            checked += 1
    assert checked >= 1
    assert not list((tmp_path / "out").rglob("*.wav"))  # the engines' spare WAVs went once the chapter was made


def test_a_known_start_is_kept_and_the_found_ones_stay_between_the_known():
    """No pause at all between three sentences (a run-on): the engine's marks place the second
    at 1.5 s; the third, unknown, falls back to its share but never before the second."""
    pcm = _burst(4.0).tobytes()
    starts = sentence_starts(pcm, 22050, [10, 10, 10], [None, 1.5, None])
    assert abs(starts[1] - 1.5) < 0.05 and starts[2] >= starts[1]
    starts = sentence_starts(pcm, 22050, [10, 80, 10], [None, None, 0.5])
    assert starts[1] <= starts[2] == pytest.approx(0.5, abs=0.05)  # the share (0.4 s) kept under the known


def test_a_sentence_is_found_in_the_spoken_form_and_titles_do_not_end_one():
    from audiofic.publish.captions import spoken_starts
    from audiofic.story.spoken import spoken_form

    text = '"Come in," Dr. Penrose said. It cost $5. J. K. Rowling wrote it. 1999 was a good year.'
    parts = sentences(text)
    assert parts == ['"Come in," Dr. Penrose said.', "It cost $5.", "J. K. Rowling wrote it.", "1999 was a good year."]
    spoken = spoken_form(text)
    found = spoken_starts(parts, spoken)
    assert [spoken[o:o + 6] for o in found] == ["Come i", "It cos", "J K Ro", "ninete"]  # "1999": what it became
    assert sentences("Bits... here and there... Then gone.") == ["Bits... here and there...", "Then gone."]
