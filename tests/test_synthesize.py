"""Real espeak-ng through pyttsx3: every segment's audio is complete, nothing leaks to stdout."""

import math
import random

import pytest

from audiofic.model import Voice
from audiofic.engines import get_engine
from audiofic.errors import AudioficError
from audiofic.sound.synthesize import SynthJob, cache_key, cache_path, check_complete, synthesize_job, wav_duration, word_count

VOICE = Voice("pyttsx3", "en-us", 175, 50, 1.0)
WORDS = ("the quick brown fox jumps over a lazy dog while seven wizards quietly hex "
         "jolly vampires and Willow reads old books about forgotten spells").split()


def sentence(rng, n):
    return " ".join(rng.choice(WORDS) for _ in range(n)).capitalize() + "."


def make_texts():
    rng = random.Random(7)
    texts = []
    for i in range(24):
        if i % 6 == 0:  # longer than 2,000 characters
            body = " ".join(sentence(rng, 12) for _ in range(40))
            assert len(body) > 2000
        else:
            body = " ".join(sentence(rng, rng.randint(3, 14)) for _ in range(rng.randint(1, 4)))
        texts.append(body)
    return texts


def test_many_segments_in_a_row_are_each_complete(tmp_path, capfd):
    engine = get_engine("pyttsx3")
    version = engine.version()
    texts = make_texts()
    ratios = []
    for text in texts:
        key = cache_key(text, VOICE, version)
        synthesize_job(SynthJob(key, text, VOICE), tmp_path)
        seconds = wav_duration(cache_path(tmp_path, key))
        expected = word_count(text) / VOICE.rate * 60
        ratios.append(seconds / expected)
    # At 175 wpm espeak-ng speaks these within a narrow band of the nominal rate; a truncated or
    # missing file (the pyttsx3 trap) would be far outside it, and so would one file's audio
    # landing in another's.
    assert all(0.7 < r < 1.5 for r in ratios), ratios
    assert max(ratios) / min(ratios) < 1.6, ratios
    out, _ = capfd.readouterr()
    assert out == ""  # pyttsx3's "Audio saved to …" never reaches our stdout


def test_rate_changes_duration(tmp_path):
    text = "This sentence is spoken at two different speeds to check the rate setting."
    slow = Voice("pyttsx3", "en-us", 120, 50, 1.0)
    fast = Voice("pyttsx3", "en-us", 260, 50, 1.0)
    version = get_engine("pyttsx3").version()
    lengths = []
    for voice in (slow, fast):
        key = cache_key(text, voice, version)
        synthesize_job(SynthJob(key, text, voice), tmp_path)
        lengths.append(wav_duration(cache_path(tmp_path, key)))
    assert lengths[0] > lengths[1] * 1.6


def test_incomplete_audio_is_refused(tmp_path):
    import wave

    short = tmp_path / "short.wav"
    with wave.open(str(short), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(22050)
        w.writeframes(b"\0\0" * 2205)  # 0.1 s
    with pytest.raises(AudioficError, match="incomplete"):
        check_complete(short, " ".join(["word"] * 50), 175)
    with pytest.raises(AudioficError, match="no audio"):
        check_complete(tmp_path / "missing.wav", "text", 175)


def test_unknown_voice_names_the_available_ones():
    with pytest.raises(AudioficError) as err:
        get_engine("pyttsx3").check_voice("en-usa")
    assert "en-us" in str(err.value) and "Available" in str(err.value)
    with pytest.raises(AudioficError, match="variant"):
        get_engine("pyttsx3").check_voice("en-us+nosuchvariant")
    get_engine("pyttsx3").check_voice("en-gb-x-rp+f3")


def test_alternating_voices_each_keep_their_own_settings(tmp_path):
    """Same text, voices switching every segment: each voice's audio must come out identical
    every time. A rate or pitch left over from the previous segment would change the length."""
    engine = get_engine("pyttsx3")
    text = "My boat is on the rocks below the point, and I saw your light from the water."
    voices = [Voice("pyttsx3", "en-us", 260, 50, 1.0), Voice("pyttsx3", "en-gb-x-rp+f3", 175, 55, 1.0),
              Voice("pyttsx3", "en-us", 120, 30, 0.8)]
    lengths = {v: set() for v in voices}
    for i in range(30):
        voice = voices[i % 3] if i % 2 else voices[(i * 2) % 3]
        path = tmp_path / f"{i}.wav"
        engine.synthesize(text, voice, path)
        lengths[voice].add(wav_duration(path))
    assert all(max(found) - min(found) < 0.05 * min(found) for found in lengths.values()), lengths
    slow, fast = min(lengths[voices[2]]), max(lengths[voices[0]])
    assert slow > fast * 1.6


def test_control_characters_from_the_story_cannot_command_espeak():
    from audiofic.engines.pyttsx3_engine import _plain

    assert _plain("a\x01999S b\x00c") == "a 999S b c"


def test_the_cache_holds_the_engines_very_samples_as_flac_in_under_half_the_room(tmp_path):
    """FLAC decodes to the samples espeak-ng wrote; an older audiofic's WAV entry is still read."""
    import wave

    import soundfile

    from audiofic.sound import pcmfile
    from audiofic.sound.assemble import segment_pcm
    from audiofic.sound.synthesize import drop_spare

    text = "Willow closed the book, and the candles went out one by one along the shelf."
    engine = get_engine("pyttsx3")
    spoken = tmp_path / "spoken.wav"
    engine.synthesize(text, VOICE, spoken)
    with wave.open(str(spoken)) as wav:
        samples = wav.readframes(wav.getnframes())
    key = cache_key(text, VOICE, engine.version())
    synthesize_job(SynthJob(key, text, VOICE), tmp_path / "cache")
    entry = cache_path(tmp_path / "cache", key)
    assert entry.suffix == ".flac" and soundfile.info(str(entry)).format == "FLAC"
    assert soundfile.read(str(entry), dtype="int16")[0].tobytes() == samples
    assert entry.stat().st_size <= 0.5 * spoken.stat().st_size
    spare = pcmfile.spare(entry)  # the engine's WAV, for the chapters to read without decoding
    assert spare.read_bytes() == spoken.read_bytes() and segment_pcm(entry) == samples
    assert not [p for p in (tmp_path / "cache").rglob("*") if p.is_file() and p not in (entry, spare)]  # no temporaries
    drop_spare(tmp_path / "cache", key)
    assert not spare.exists() and segment_pcm(entry) == samples  # decoded from the FLAC

    legacy_key = cache_key(text + " Again.", VOICE, engine.version())
    legacy = tmp_path / "cache" / legacy_key[:2] / f"{legacy_key}.wav"
    legacy.parent.mkdir(exist_ok=True)
    legacy.write_bytes(spoken.read_bytes())
    assert cache_path(tmp_path / "cache", legacy_key) == legacy
    before = legacy.stat().st_mtime_ns
    synthesize_job(SynthJob(legacy_key, text + " Again.", VOICE), tmp_path / "cache")  # whole: kept
    assert legacy.stat().st_mtime_ns == before and segment_pcm(legacy) == samples


def test_libflac_writes_short_frames_that_any_decoder_reads_back_and_soundfile_stands_in(tmp_path, monkeypatch):
    """libFLAC (ctypes) writes 1152-sample frames and the marks as a comment; ffmpeg and
    soundfile decode the same samples; without libFLAC, soundfile writes an entry just as good."""
    import subprocess

    from mutagen.flac import FLAC

    from audiofic.sound import flacfile, pcmfile

    rng = random.Random(5)
    pcm = b"".join(int(3000 * math.sin(n / 9) + rng.randint(-60, 60)).to_bytes(2, "little", signed=True)
                   for n in range(30000))
    assert flacfile.libflac() is not None  # Debian's libflac, which ffmpeg and chromium bring
    for name in ("libflac", "soundfile"):
        if name == "soundfile":
            monkeypatch.setattr(flacfile, "libflac", lambda: None)
        entry = tmp_path / f"{name}.flac"
        pcmfile.write_flac(entry, pcm, 22050, 1, [(0, 0), (12, 11025)])
        decoded = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(entry), "-f", "s16le", "-"],
                                 check=True, capture_output=True).stdout
        assert decoded == pcm and pcmfile.read_pcm(entry)[0] == pcm and pcmfile.whole(entry)
        assert pcmfile.read_marks(entry) == [(0, 0.0), (12, 0.5)]
        info = FLAC(entry).info
        assert (info.min_blocksize, info.max_blocksize) == ((1152, 1152) if name == "libflac" else (4096, 4096))


def test_a_flac_entry_cut_short_is_not_whole(tmp_path):
    from audiofic.sound import pcmfile

    entry = tmp_path / "e.flac"
    rng = random.Random(3)
    pcmfile.write_flac(entry, b"".join(rng.randint(-900, 900).to_bytes(2, "little", signed=True)
                                       for _ in range(22050)), 22050)
    assert pcmfile.whole(entry)
    whole = entry.read_bytes()
    for cut in (len(whole) - 4, len(whole) // 2, 40):
        entry.write_bytes(whole[:cut])
        assert not pcmfile.whole(entry), cut
