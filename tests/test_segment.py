import re

from hypothesis import given, settings
from hypothesis import strategies as st

from audiofic.read.ingest import ingest
from audiofic.model import Chapter
from audiofic.story.segment import detect_quote_style, is_scene_break, segment_chapter
from audiofic.story.spoken import spoken_form as speech_text

WORD = re.compile(r"[^\W_]+")


def chapter(text: str) -> Chapter:
    return Chapter(number=2, title="T", text=text, offset=0)


def kinds(text, style="double"):
    return [(s.kind, s.text) for s in segment_chapter(chapter(text), None, style)]


def spoken_words(text: str) -> list[str]:
    """The words a chapter must speak: all of them except on scene-break lines."""
    lines = [line for line in text.split("\n") if not is_scene_break(line)]
    return WORD.findall("\n".join(lines))


def segment_words(segments) -> list[str]:
    return WORD.findall(" ".join(s.text for s in segments if s.kind != "heading"))


def test_dialogue_is_the_quoted_speech_and_the_tag_stays_narration():
    assert kinds('"Hello," she said. "How are you?"') == [
        ("dialogue", "Hello,"), ("narration", "she said."), ("dialogue", "How are you?")]


def test_curly_quotes_and_guillemets():
    assert kinds("“Yes,” he said.") == [("dialogue", "Yes,"), ("narration", "he said.")]
    assert kinds("«Oui», dit-elle.") == [("dialogue", "Oui"), ("narration", ", dit-elle.")]


def test_single_quote_dialogue_keeps_apostrophes():
    text = "'It's the dogs' dinner,' she said. 'Give 'em some.'\n\n'I won't,' said Tom.\n\n'Fine.'\n\n'Good.'"
    assert detect_quote_style(text) == "single"
    assert kinds(text, "single")[:3] == [
        ("dialogue", "It's the dogs' dinner,"), ("narration", "she said."), ("dialogue", "Give 'em some.")]


def test_apostrophes_in_double_quote_text_are_not_quotes():
    assert kinds("It's 'round the back, the dogs' bowls.") == [
        ("narration", "It's 'round the back, the dogs' bowls.")]


def test_backticks_as_apostrophes(seed004):
    work = ingest(seed004)
    segments = segment_chapter(work.chapters[0], None, detect_quote_style(work.source))
    assert any("I`ve" in s.text for s in segments)
    assert speech_text("I`ve never seen you") == "I've never seen you"


def test_quotation_continued_over_paragraphs():
    text = '"This goes on,\n\n"and on to here," he said.'
    segs = segment_chapter(chapter(text), None)
    assert [(s.kind, s.text) for s in segs] == [
        ("dialogue", "This goes on,"), ("dialogue", "and on to here,"), ("narration", "he said.")]
    assert segs[1].rule == "continued"
    assert segs[0].pause_after == "paragraph"


def test_scene_breaks_are_pauses_not_speech():
    for mark in ["***", "* * *", "~*~", "xXx", "-----", "o0o", "~~~~"]:
        segs = segment_chapter(chapter(f"Before.\n\n{mark}\n\nAfter."), None)
        assert [s.text for s in segs] == ["Before.", "After."], mark
        assert segs[0].pause_after == "scene"


def test_heading_comes_first_and_pauses():
    segs = segment_chapter(chapter("Text."), "Chapter Two")
    assert (segs[0].kind, segs[0].text, segs[0].pause_after) == ("heading", "Chapter Two", "heading")


def test_long_text_is_cut_at_sentence_ends_without_losing_words():
    text = " ".join(f"Sentence number {i} is here." for i in range(200))
    segs = segment_chapter(chapter(text), None)
    assert len(segs) > 5 and all(len(s.text) <= 700 for s in segs)
    assert segment_words(segs) == WORD.findall(text)
    assert all(s.pause_after == "none" for s in segs[:-1])


def test_offsets_slice_the_source():
    text = 'Pre. "A," b said.\n\n“C” d.'
    for s in segment_chapter(chapter(text), None):
        assert text[s.start:s.end] == s.text


def test_every_word_of_both_seeds_is_in_a_segment(seed000, seed004):
    for seed in (seed000, seed004):
        work = ingest(seed)
        style = detect_quote_style(work.source)
        for ch in work.chapters:
            segs = segment_chapter(ch, ch.title, style)
            assert segment_words(segs) == spoken_words(ch.text), (seed.name, ch.title)
            for s in segs:
                assert s.text.strip() and WORD.search(s.text)
                if s.kind != "heading":
                    assert work.source[s.start:s.end] == s.text


pieces = st.sampled_from(
    ["word", "Name", "it's", "dogs'", "'em", "I`ve", '"', "“", "”", "'", "‘", "’", "«", "»", ",", ".", "!", "?",
     "...", "—", " ", " ", " ", "\n", "\n\n", "***", "\n\n~*~\n\n", "xXx", "3", "café", "Ça", "`", "``", "''"]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=80), st.sampled_from(["double", "single"]))
def test_no_word_is_ever_lost(parts, style):
    text = "".join(parts)
    segs = segment_chapter(chapter(text), None, style)
    assert segment_words(segs) == spoken_words(text)
    for s in segs:
        assert text[s.start:s.end] == s.text and WORD.search(s.text)


def test_chat_logs_are_messages_in_their_senders_voices_without_timestamps():
    from audiofic.story.segment import chat_paragraphs

    paras = ["She opened the group chat.", "[23:02] Mara: anyone awake??\n[23:03] @tobes: always",
             "9:15 PM - Tobias: bring coffee", "Mara (21:40): ok", "Note: not a chat.",
             "Summary: nor this.\nWarning: nor this."]
    chats = chat_paragraphs(paras)
    assert sorted(chats) == [1, 2, 3]
    assert [(sender, paras[1][a:b]) for sender, a, b in chats[1]] == [("Mara", "anyone awake??"),
                                                                     ("@tobes", "always")]
    assert [(s, paras[2][a:b]) for s, a, b in chats[2]] == [("Tobias", "bring coffee")]
    assert chat_paragraphs(["Mara: one", "Mara: two"]) == {}  # one sender alone is not a conversation


def test_chat_senders_resolve_to_the_cast_and_every_message_is_spoken(tmp_path):
    from conftest import script_records

    story = tmp_path / "chat.txt"
    story.write_text("Title: Group Chat\n\nMara opened the chat.\n\n[23:02] Mara: anyone awake??\n"
                     "[23:03] @tobes: always\n[23:04] Ines: go to sleep\n\nShe smiled.\n", "utf-8")
    voices = tmp_path / "cast.toml"
    voices.write_text('[characters.Mara]\ngender = "female"\n[characters.Tobias]\naliases = ["@tobes"]\n'
                      'gender = "male"\n[characters.Ines]\ngender = "female"\n', "utf-8")
    records = script_records(story, "--voices", voices, "--explain")
    chat = [(r["speaker"], r["spoken"], r["rule"]) for r in records if r["kind"] == "dialogue"]
    assert chat == [("Mara", "anyone awake?", "chat"), ("Tobias", "always", "chat"), ("Ines", "go to sleep", "chat")]
    voices_used = {r["speaker"]: r["voice"] for r in records if r["kind"] == "dialogue"}
    assert len(set(voices_used.values())) == 3  # three senders, three voices
    assert not any("23:0" in r["spoken"] for r in records)  # timestamps are not read


def test_a_script_scene_is_read_in_the_characters_voices_without_the_names(tmp_path):
    from conftest import script_records

    story = tmp_path / "harbour.txt"
    story.write_text("Title: Harbour Lights\nAuthor: Wren\n\n"
                     "Mara walked to the pier. She waited for Tobias, who was late again. He came at last.\n\n"
                     '"You\'re late," said Mara.\n\n"The tide," said Tobias.\n\n'
                     "MARA: Where were you?\n\nTOBIAS: Out on the boat.\n\n[Mara turns away.]\n\n"
                     "MARA (quietly): You always say that.\n\nTOBIAS: Because it is true.\n")
    records = script_records(story, "-o", tmp_path / "out")
    lines = {r["text"]: r for r in records if r["kind"] == "dialogue"}
    voice_of = {r["speaker"]: r["voice"] for r in records if r["kind"] == "dialogue"}
    assert lines["Where were you?"]["speaker"] == lines["You're late,"]["speaker"] == "Mara"
    assert lines["Out on the boat."]["speaker"] == lines["The tide,"]["speaker"] == "Tobias"
    assert lines["Where were you?"]["voice"] == lines["You're late,"]["voice"] != lines["The tide,"]["voice"]
    assert not any("MARA" in r["text"] or "TOBIAS" in r["text"] for r in records)  # names not read
    assert set(voice_of) == {"Mara", "Tobias"}
