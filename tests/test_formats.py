"""AO3 HTML, EPUB (AO3, FanFicFare, generic EPUB 3) and hostile archives, through the real CLI."""

import json
import re

import pytest
from mutagen.id3 import ID3

import fanfic_fixtures as F
from audiofic.errors import AudioficError
from audiofic.read.htmltext import block_text, parse_html
from audiofic.read.ingest import ingest
from audiofic.casting.config import load_layers
from audiofic.run.plan import load_work, plan, work_tags
from audiofic.run.state import work_dir
from conftest import assert_one_line_error, attributed_and_cast, run_cli

H2_TITLES = [title for title, *_ in F.CHAPTERS]


@pytest.fixture(scope="module")
def works(tmp_path_factory):
    folder = tmp_path_factory.mktemp("works")
    (folder / "multi.html").write_text(F.ao3_multi_chapter_html(), "utf-8")
    (folder / "one.htm").write_text(F.ao3_one_chapter_html(), "utf-8")
    (folder / "spanish.txt").write_text(F.ao3_spanish_html(), "utf-8")  # detected by content, not extension
    F.ao3_epub(folder / "ao3.epub")
    F.fanficfare_epub(folder / "fff.bin")
    F.generic_epub3(folder / "generic.epub")
    (folder / "page.html").write_text(
        "<html><head><title>A Plain Page</title></head><body><h1>First</h1><p>One &amp; two.</p>"
        "<h2>Second</h2><p>Three<br>four.</p></body></html>", "utf-8")
    return folder


def test_ao3_multi_chapter_metadata_and_chapters(works):
    work = ingest(works / "multi.html")
    assert work.title == "The Clockmaker's Apprentice" and work.authors == ["quillfeather"]
    assert work.fandoms == ["Original Work"] and work.rating == "Teen And Up Audiences"
    assert work.warnings == ["No Archive Warnings Apply"] and work.categories == ["F/M", "Gen"]
    assert work.relationships == ["Ada Quill/Tomas Reed"]
    assert work.characters == ["Ada Quill", "Tomas Reed", "Master Hollis (Original Work)"]
    assert work.tags == ["Clockwork", "Slow Burn", "Fluff"] and work.language == "en"
    assert (work.series, work.series_part) == ("Gears and Hearts", 2)
    assert (work.published, work.updated, work.words) == ("2024-03-01", "2024-04-12", 1234)
    assert (work.chapters_posted, work.chapters_total, work.complete) == (3, 5, False)
    assert work.url == "https://archiveofourown.org/works/424242"
    assert work.summary.startswith("Ada repairs clocks.")
    assert [c.title for c in work.chapters] == H2_TITLES
    first = work.chapters[0]
    assert (first.summary, first.notes, first.end_notes) == ("Ada meets a stranger.", "Thank you for reading!", "More soon.")
    assert "Thank you for reading" not in first.text and "More soon" not in first.text  # notes kept apart
    assert work.work_notes.startswith("Thanks to my beta") and work.end_notes.startswith("The whole work ends")


def test_ao3_one_chapter_and_non_english(works):
    one = ingest(works / "one.htm")
    assert [c.title for c in one.chapters] == ["Small Hours"] and one.complete is True
    assert "Chapter Text" not in one.chapters[0].text  # AO3's landmark heading is not read
    spanish = ingest(works / "spanish.txt")
    assert spanish.language == "es" and spanish.chapters_total is None and spanish.complete is False
    assert spanish.chapters[0].title == "Capítulo 1: El escape roto"


def test_text_from_html_keeps_every_word_and_marks():
    html = ('<div><p>One &amp; <span>two</span> <em>three</em>,</p><p>four<br/>five</p><hr/>'
            '<p style="text-align:center">***</p><p>six&nbsp;seven</p></div>')
    text = block_text(parse_html(html))
    assert text == "One & two *three*,\n\nfour\nfive\n\n* * *\n\n***\n\nsix seven"
    assert re.findall(r"\w+", text) == ["One", "two", "three", "four", "five", "six", "seven"]


def test_every_chapter_word_of_the_fixture_survives(works):
    work = ingest(works / "multi.html")
    body = " ".join(c.text for c in work.chapters)
    for title, html, *_ in F.CHAPTERS:
        expected = re.findall(r"\w+", parse_html(html).plain())
        assert all(word in body for word in expected), title


def test_epubs(works):
    ao3 = ingest(works / "ao3.epub")
    assert ao3.title == "The Clockmaker's Apprentice" and ao3.authors == ["quillfeather"]
    assert ao3.characters[:2] == ["Ada Quill", "Tomas Reed"] and (ao3.chapters_posted, ao3.chapters_total) == (3, 5)
    assert [c.title for c in ao3.chapters] == H2_TITLES
    assert ao3.chapters[0].summary == "Ada meets a stranger." and ao3.chapters[0].end_notes == "More soon."
    assert ao3.end_notes == "Fin."
    fff = ingest(works / "fff.bin")
    assert [c.title for c in fff.chapters] == H2_TITLES and fff.fandoms == ["Original Work"]
    assert fff.characters == ["Ada Quill", "Tomas Reed"] and fff.summary.startswith("Ada repairs")
    assert (fff.words, fff.chapters_total) == (1234, 5) and not fff.chapters[0].text.startswith("Chapter 1")
    generic = ingest(works / "generic.epub")
    assert [c.title for c in generic.chapters] == ["The Opening", "The Closing"]  # from the nav; cover skipped
    page = ingest(works / "page.html")
    assert page.title == "A Plain Page" and [c.title for c in page.chapters] == ["First", "Second"]


def test_notes_policy(works):
    def texts(notes):
        return [(c.kind, c.title, c.text) for c in ingest(works / "multi.html", notes=notes).chapters]

    skipped = texts("skip")
    assert len(skipped) == 3 and not any("Thank you for reading" in t for _, _, t in skipped)
    read = texts("read")
    assert len(read) == 3
    assert read[0][2].startswith("Author's note.\n\nThanks to my beta") and "Thank you for reading!" in read[0][2]
    assert "Author's end note.\n\nMore soon." in read[0][2] and "The whole work ends here" in read[2][2]
    separate = texts("separate")
    assert [k for k, _, _ in separate].count("chapter") == 3 and len(separate) == 8
    assert separate[1][1] == "Chapter 1: The Broken Escapement - Notes"


def test_summary_is_read_after_the_title_unless_no_summary(works):
    heading = load_work(works / "multi.html").chapters[0].segments[0].text
    assert heading.startswith("The Clockmaker's Apprentice. By quillfeather. Summary. Ada repairs clocks.")
    assert "Summary" not in load_work(works / "multi.html", read_summary=False).chapters[0].segments[0].text


def test_metadata_flows_into_cast_voices_and_tags(works, tmp_path):
    work = load_work(works / "multi.html")
    config, _ = load_layers(work_dir(tmp_path, work), None, work.language)
    _work, casting = attributed_and_cast(work, config)
    assert {"Ada Quill", "Tomas Reed", "Master Hollis"} <= set(casting.entries)
    assert "Ada" in next(c for c in casting.characters if c.name == "Ada Quill").aliases
    tags = work_tags(work)
    assert tags["FANDOM"] == "Original Work" and tags["RATING"] == "Teen And Up Audiences"
    assert "Ada Quill/Tomas Reed" in tags["RELATIONSHIPS"] and "Slow Burn" in tags["TAGS"]
    spanish = load_work(works / "spanish.txt")
    config, _ = load_layers(work_dir(tmp_path, spanish), None, spanish.language)
    spanish, casting = attributed_and_cast(spanish, config)
    voices = {p.voice.voice.split("+")[0] for cp in plan(spanish, config, casting).chapters for p in cp.segments}
    assert voices == {"es"}


@pytest.mark.parametrize("name", ["multi.html", "one.htm", "spanish.txt", "ao3.epub", "fff.bin", "generic.epub"])
def test_info_and_render_on_every_fixture(works, tmp_path, name):
    info = run_cli("info", works / name, "--format", "json")
    assert info.returncode == 0, info.stderr
    record = json.loads(info.stdout)
    assert set(record) >= {"title", "authors", "fandoms", "rating", "language", "characters", "relationships",
                           "tags", "summary", "words", "chapters_total", "complete", "chapters"}
    assert all(set(c) == {"number", "title", "words"} for c in record["chapters"])
    posted = {"multi.html": 3, "one.htm": 1, "spanish.txt": 1, "ao3.epub": 3, "fff.bin": 3, "generic.epub": 2}
    assert len(record["chapters"]) == posted[name]  # AO3's "Chapters: n/m" n
    if name in ("multi.html", "ao3.epub", "fff.bin"):
        assert [c["title"] for c in record["chapters"]] == H2_TITLES
    result = run_cli("render", works / name, "-o", tmp_path)
    assert result.returncode == 0, result.stderr
    files = sorted(tmp_path.glob("*/*.mp3"))
    assert len(files) == len(record["chapters"])
    for n, f in enumerate(files, 1):
        id3 = ID3(f)
        assert str(id3["TIT2"]) == record["chapters"][n - 1]["title"]
        assert str(id3["TCON"]) == "Audiobook"
        if record["fandoms"]:
            assert str(id3["TXXX:FANDOM"]) == "; ".join(record["fandoms"])


def test_info_text_summary(works):
    result = run_cli("info", works / "multi.html")
    assert result.returncode == 0 and "Chapters:      3/5 (in progress)" in result.stdout
    assert "Gears and Hearts (part 2)" in result.stdout


def test_malicious_epubs_are_refused_and_write_nothing(tmp_path):
    bad = F.malicious_epubs(tmp_path)
    for name, path in bad.items():
        if name == "traversal":
            continue
        with pytest.raises(AudioficError):
            ingest(path)
        result = run_cli("render", path, "-o", tmp_path / "out")
        assert_one_line_error(result)
    result = run_cli("render", bad["traversal"], "-o", tmp_path / "out")
    assert "Traceback" not in result.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()] + list((tmp_path.parent).glob("evil*"))
    assert all(str(p).startswith(str(tmp_path)) for p in written)
    assert not [p for p in written if "evil" in p.name]
