import warnings

import pytest

from audiofic.errors import AudioficError
from audiofic.read.ingest import heading_title, ingest, parse_text


def test_seed_000_has_eleven_chapters_with_title_and_author(seed000):
    work = ingest(seed000)
    assert work.title == "In Bits and Pieces"
    assert work.authors == ["Aileen E."]
    assert len(work.chapters) == 11
    assert [c.title for c in work.chapters[1:]] == [f"Part {n}" for n in range(1, 11)]
    assert "Sequel to" in work.summary
    # The header block is metadata, not narration.
    assert "Feedback" not in work.chapters[0].text
    assert work.chapters[0].text.strip().startswith("Don")


def test_seed_004_is_one_chapter_and_its_notes_are_metadata(seed004):
    work = ingest(seed004)
    assert len(work.chapters) == 1
    assert "author's note" in work.metadata and "disclaimer" in work.metadata
    assert work.chapters[0].text.strip().startswith("The way I recall")


@pytest.mark.parametrize(
    "line, title",
    [
        ("~Part: 1~", "Part 1"),
        ("Part 2", "Part 2"),
        ("Chapter 3", "Chapter 3"),
        ("Chapter Four: The Title", "Chapter Four: The Title"),
        ("CHAPTER IV", "Chapter IV"),
        ("Prologue", "Prologue"),
        ("Epilogue", "Epilogue"),
        ("# The Long Night", "The Long Night"),
        ("## Chapter 7 - Homecoming", "Chapter 7 - Homecoming"),
        ("Chapter 12. Aftermath", "Chapter 12: Aftermath"),
    ],
)
def test_heading_forms(line, title):
    assert heading_title(line) == title


@pytest.mark.parametrize(
    "line",
    ["Part of me wanted to stay.", "Chapter and verse, he said.", "The prologue was long.", "#hashtag", ""],
)
def test_prose_is_not_a_heading(line):
    assert heading_title(line) is None


def test_text_before_first_heading_is_its_own_chapter_and_no_headings_is_one():
    work = parse_text("Title: T\nAuthor: A\n\nOpening words.\n\nChapter 1\n\nFirst.\n\nChapter 2\n\nSecond.\n")
    assert [c.title for c in work.chapters] == ["T", "Chapter 1", "Chapter 2"]
    assert parse_text("Just one line of story.").chapters[0].text.strip() == "Just one line of story."


def test_header_keys_and_multiline_values():
    work = parse_text("Title: Stars\nAuthor: Ann & Bob\nSummary: One\ntwo three.\nRating: T\n\nStory starts.")
    assert work.title == "Stars" and work.authors == ["Ann", "Bob"]
    assert work.summary == "One two three."
    assert work.metadata["rating"] == "T"
    assert len(work.chapters) == 1 and work.chapters[0].text.strip() == "Story starts."


def test_bom_crlf_offsets_point_into_the_decoded_file(tmp_path):
    path = tmp_path / "s.txt"
    path.write_bytes("\ufeffTitle: X\r\n\r\nChapter 1\r\n\r\nHello “there”.\r\n".encode("utf-8"))
    work = ingest(path)
    decoded = path.read_bytes().decode("utf-8-sig")
    chapter = work.chapters[0]
    assert chapter.title == "Chapter 1"
    assert decoded[chapter.offset:chapter.offset + len(chapter.text)].replace("\r\n", " \n") == chapter.text


def test_cp1252_is_read_with_a_warning(tmp_path):
    path = tmp_path / "old.txt"
    path.write_bytes("Caf\xe9 na\xefve \x93quoted\x94 words.".encode("latin-1"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        work = ingest(path)
    assert any("Windows-1252" in str(w.message) for w in caught)
    assert "Café naïve “quoted” words." in work.chapters[0].text


def test_title_and_author_override(tmp_path):
    path = tmp_path / "s.txt"
    path.write_text("Title: A\nAuthor: B\n\nText here.")
    work = ingest(path, title="New", author="Someone")
    assert (work.title, work.authors) == ("New", ["Someone"])


@pytest.mark.parametrize(
    "content, message",
    [(b"", "empty"), (b"   \n\n", "empty"), (b"\x00\x01\x02binary\x00" * 20, "binary"), (b"***\n\n~*~\n", "no speakable")],
)
def test_bad_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    with pytest.raises(AudioficError, match=message):
        ingest(path)


@pytest.mark.parametrize("opening, title, authors", [
    ("The Long Way Home\nby quillfeather\n\n", "The Long Way Home", ["quillfeather"]),
    ("The Long Way Home\n\nBy: Ada Quill & Tomas Reed\n\n", "The Long Way Home", ["Ada Quill", "Tomas Reed"]),
    ("Salt and Iron\nwritten by Wren\n\n", "Salt and Iron", ["Wren"]),
    ("Waiting\nby the sea, she sat.\n\n", "fallback", []),  # a sentence, not a byline
    ("Chapter 1\nby me\n\n", "fallback", []),  # a heading is no title
])
def test_a_title_and_byline_at_the_top_are_the_works(opening, title, authors):
    work = parse_text(opening + "It was raining on the harbour.\n\nShe ran for the boat.\n", "fallback")
    assert (work.title, work.authors) == (title, authors)
    assert "raining" in " ".join(c.text for c in work.chapters)
    if authors:
        assert "by" not in work.chapters[0].text.lower().split("raining")[0]  # the byline is not read as story
