"""Plays everywhere: levels, pacing, covers, MP3/M4B/Opus, the feed and `serve`, read back by
independent readers (ffprobe, ffmpeg's ebur128 meter, mutagen, podcastparser)."""

import json
import re
import subprocess
import sys
import urllib.request

import podcastparser
import pytest
from mutagen.id3 import ID3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from PIL import Image
from pydub import AudioSegment

from audiofic.publish.feed import explicit
from conftest import EXAMPLE, ffprobe, run_cli, script_records


def meter(path):
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af", "ebur128=peak=true",
                          "-f", "null", "-"], capture_output=True, text=True).stderr
    loud = float(re.findall(r"^\s+I:\s+(-?[\d.]+) LUFS", out, re.M)[-1])
    peak = float(re.findall(r"^\s+Peak:\s+(-?[\d.]+|-inf) dBFS", out, re.M)[-1])
    return loud, peak


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("pub")
    result = run_cli("render", EXAMPLE, "-o", out, "--format", "mp3", "--format", "m4b", "--format", "opus",
                     "--base-url", "http://host/fic/")
    assert result.returncode == 0, result.stderr
    return next(out.iterdir())


def test_every_file_is_on_target_and_under_the_peak_ceiling(rendered):
    files = sorted(rendered.glob("*.mp3")) + sorted(rendered.glob("*.opus")) + sorted(rendered.glob("*.m4b"))
    assert len(files) == 7
    for f in files:
        loud, peak = meter(f)
        assert abs(loud - -18.0) <= 1.0, (f.name, loud)
        assert peak <= -3.0, (f.name, peak)


def test_podcast_preset_and_explicit_numbers(tmp_path):
    for option, target, ceiling in (("podcast", -16.0, -1.0), ("-20,-4", -20.0, -4.0)):
        out = tmp_path / option
        result = run_cli("render", EXAMPLE, "-o", out, "--chapter", "2", "--loudness", option)
        assert result.returncode == 0, result.stderr
        loud, peak = meter(next(out.glob("*/*.mp3")))
        assert abs(loud - target) <= 1.0 and peak <= ceiling, (option, loud, peak)
    bad = run_cli("render", EXAMPLE, "-o", tmp_path / "bad", "--loudness", "loud")
    assert bad.returncode != 0 and "--loudness" in bad.stderr


def test_voices_are_level_matched(rendered):
    """Every voice's segments, as placed in the files, within 1 LU of the narrator's."""
    from audiofic.sound.levels import measure
    from audiofic.sound.assemble import apply_gain, segment_pcm

    manifest = json.loads((rendered / ".audiofic" / "manifest.json").read_text())
    records = script_records(EXAMPLE, "-o", rendered.parent)
    by_voice = {}
    for number, entry in manifest["chapters"].items():
        if not number.isdigit():
            continue
        voices = [r["voice"] for r in records if r["chapter"] == int(number)]
        for key, gain, voice in zip(entry["segments"], entry["gains"], voices):
            pcm = apply_gain(segment_pcm(rendered / ".audiofic" / "cache" / key[:2] / f"{key}.flac"), gain)
            by_voice.setdefault(voice, []).append(pcm)
    levels = {voice: measure(b"".join(parts))[0] for voice, parts in by_voice.items()}
    narrator = levels.pop("en-us")
    assert levels and all(abs(level - narrator) <= 1.0 for level in levels.values()), (narrator, levels)


def test_room_tone_not_digital_silence(rendered):
    audio = AudioSegment.from_file(sorted(rendered.glob("*.mp3"))[0])
    head, tail = audio[:450], audio[-1000:]
    for part in (head, tail):
        assert part.max > 0  # not digital silence
        assert part.dBFS < -60  # a noise floor, not speech
    from audiofic.casting.config import load_config

    defaults = load_config().pauses.as_dict()
    assert 500 <= defaults["head"] <= 1000 and 1000 <= defaults["tail"] <= 5000  # Audible's ranges


def test_mp3_tags_cover_and_chapter_frames(rendered):
    first = sorted(rendered.glob("*.mp3"))[0]
    probe = ffprobe(first)
    chapters = sorted(probe["chapters"], key=lambda c: c["start"])  # stored by size; CTOC gives the order
    assert [c["tags"]["title"] for c in chapters][-1] == "End" and len(chapters) == 3
    assert any(s.get("disposition", {}).get("attached_pic") for s in probe["streams"])
    id3 = ID3(first)
    assert id3.version[:2] == (2, 3) and id3.getall("APIC")[0].mime == "image/jpeg"
    assert [c.element_id for c in sorted(id3.getall("CHAP"), key=lambda c: c.start_time)] == ["0-head", "1-text", "2-end"]
    assert id3.getall("CTOC")[0].child_element_ids == ["0-head", "1-text", "2-end"]


def test_m4b_has_every_chapter_for_apple_and_nero(rendered):
    m4b = next(rendered.glob("*.m4b"))
    probe = ffprobe(m4b)
    titles = [c["tags"]["title"] for c in probe["chapters"]]
    assert titles == ["Chapter One: The Knock", "Chapter Two: Tea and Questions", "Chapter Three: The Morning After"]
    assert any(s["codec_type"] == "data" and s.get("codec_tag_string") == "text" for s in probe["streams"])  # QuickTime
    tags = MP4(m4b)
    assert [c.title for c in tags.chapters] == titles  # Nero chpl, as mutagen reads it
    assert tags["stik"] == [2] and tags["covr"] and tags["\xa9nam"] == ["The Lighthouse Keeper's Cat"]
    assert tags["\xa9gen"] == ["Audiobook"] and tags["aART"] == ["The audiofic developers"]


def test_opus_vorbis_comments(rendered):
    files = sorted(rendered.glob("*.opus"))
    tags = OggOpus(files[1])
    assert tags["TRACKNUMBER"] == ["2"] and tags["TRACKTOTAL"] == ["3"] and tags["GENRE"] == ["Audiobook"]
    assert tags["METADATA_BLOCK_PICTURE"] and tags["CHAPTER000"] == ["00:00:00.000"]
    assert ffprobe(files[1])["streams"][0]["codec_name"] == "opus"


def test_cover_generated_and_given(rendered, tmp_path):
    with Image.open(rendered / "cover.jpg") as img:
        assert 1400 <= img.width <= 3000 and img.width == img.height
    small = tmp_path / "small.png"
    Image.new("RGB", (300, 200), (200, 30, 30)).save(small)
    out = tmp_path / "out"
    assert run_cli("render", EXAMPLE, "-o", out, "--chapter", "1", "--cover", small).returncode == 0
    with Image.open(next(out.glob("*/cover.jpg"))) as img:
        assert img.size == (1400, 1400)
    apic = ID3(next(out.glob("*/*.mp3"))).getall("APIC")[0].data
    assert apic == next(out.glob("*/cover.jpg")).read_bytes()
    bad = run_cli("render", EXAMPLE, "-o", out, "--cover", EXAMPLE)
    assert bad.returncode != 0 and "cover" in bad.stderr.lower() and "Traceback" not in bad.stderr


def test_feed_read_by_a_real_podcast_client(rendered):
    with open(rendered / "feed.xml", "rb") as fh:
        feed = podcastparser.parse("http://host/fic/feed.xml", fh)
    episodes = sorted(feed["episodes"], key=lambda e: e["published"])
    files = sorted(rendered.glob("*.mp3"))
    assert len(episodes) == len(files) == 3
    assert feed["type"] == "serial" and feed["cover_url"] == "http://host/fic/cover.jpg"
    for episode, f in zip(episodes, files):
        enclosure = episode["enclosures"][0]
        assert enclosure["file_size"] == f.stat().st_size and enclosure["mime_type"] == "audio/mpeg"
        assert enclosure["url"].endswith(f.name.replace(" ", "%20"))
        assert abs(episode["total_time"] - float(ffprobe(f)["format"]["duration"])) <= 1.0
    guids = [e["guid"] for e in episodes]
    assert len(set(guids)) == 3 and [e["number"] for e in episodes] == [1, 2, 3]
    assert [e["published"] for e in episodes] == sorted({e["published"] for e in episodes})
    playlist = (rendered / "playlist.m3u8").read_text().splitlines()
    assert playlist[0] == "#EXTM3U" and [line for line in playlist if line.endswith(".mp3")] == [f.name for f in files]
    again = run_cli("render", EXAMPLE, "-o", rendered.parent, "--format", "mp3", "--force", "--chapter", "2",
                    "--base-url", "http://host/fic/")
    assert again.returncode == 0, again.stderr
    with open(rendered / "feed.xml", "rb") as fh:
        assert [e["guid"] for e in sorted(podcastparser.parse("x", fh)["episodes"], key=lambda e: e["published"])] == guids


def test_explicit_follows_the_rating():
    assert [explicit(r) for r in ("Explicit", "Mature", "NC-17 for language", "R")] == ["yes"] * 4
    assert [explicit(r) for r in ("General Audiences", "Teen And Up Audiences", "PG-13", None)] == ["no"] * 4


def test_serve_gives_the_feed_and_byte_ranges(rendered):
    proc = subprocess.Popen([sys.executable, "-m", "audiofic", "serve", str(rendered.parent), "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("http://127.0.0.1:") and line.endswith("/feed.xml"), line
        feed = urllib.request.urlopen(line, timeout=10).read()
        assert feed == (rendered / "feed.xml").read_bytes()
        target = sorted(rendered.glob("*.mp3"))[0]
        url = line.rsplit("/", 1)[0] + "/" + urllib.request.quote(target.name)
        request = urllib.request.Request(url, headers={"Range": "bytes=100-199"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 206
            assert response.headers["Content-Range"] == f"bytes 100-199/{target.stat().st_size}"
            assert response.read() == target.read_bytes()[100:200]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_seed_000_mp3_and_m4b_with_feed(seed000, tmp_path):
    result = run_cli("render", seed000, "-o", tmp_path, "--format", "mp3", "--format", "m4b",
                     "--base-url", "http://host/fic/")
    assert result.returncode == 0, result.stderr
    work = next(tmp_path.iterdir())
    mp3s = sorted(work.glob("*.mp3"))
    assert len(mp3s) == 11 and all(ID3(f).getall("APIC") for f in mp3s)
    m4b = next(work.glob("*.m4b"))
    assert len(ffprobe(m4b)["chapters"]) == 11 and MP4(m4b)["covr"]
    with open(work / "feed.xml", "rb") as fh:
        feed = podcastparser.parse("http://host/fic/feed.xml", fh)
    assert len(feed["episodes"]) == 11 and feed["explicit"] is True


def test_measure_fails_loudly_when_ffmpeg_fails():
    from audiofic.errors import AudioficError
    from audiofic.sound.levels import measure

    with pytest.raises(AudioficError, match="ffmpeg could not measure loudness"):
        measure(b"\0\0" * 22050, "nosuchfilter=1")


def test_one_table_holds_every_format():
    from audiofic.publish.formats import FORMATS, mime_for_suffix

    for fmt in FORMATS.values():
        assert mime_for_suffix("." + fmt.extension) == fmt.mime  # serve and the feed read the same table
        assert fmt.encoder and fmt.muxer and callable(fmt.write_tags)


def test_serve_builds_a_feeds_links_from_the_address_it_was_fetched_at(tmp_path):
    """A feed rendered without --base-url, fetched by a phone at this machine's LAN address: its
    enclosures point back at that address (not at the phone's own loopback) and play from there;
    audiofic's state under .audiofic/ is never served."""
    from audiofic.publish.serve import feed_app

    assert run_cli("render", EXAMPLE, "-o", tmp_path, "--chapter", "1").returncode == 0
    work = next(p for p in tmp_path.iterdir() if p.is_dir())
    client = feed_app(tmp_path).test_client()
    feed = client.get(f"/{work.name}/feed.xml", headers={"Host": "192.168.1.20:8000"})
    parsed = podcastparser.parse("http://192.168.1.20:8000/feed.xml", __import__("io").BytesIO(feed.data))
    urls = [e["enclosures"][0]["url"] for e in parsed["episodes"]]
    assert urls and all(u.startswith(f"http://192.168.1.20:8000/{work.name}/") for u in urls), urls
    episode = client.get(urls[0].removeprefix("http://192.168.1.20:8000"), headers={"Range": "bytes=0-9"})
    assert episode.status_code == 206 and len(episode.data) == 10
    assert (work / ".audiofic" / "manifest.json").is_file()
    for hidden in (f"/{work.name}/.audiofic/manifest.json", f"/{work.name}/%2Eaudiofic/manifest.json",
                   f"/{work.name}/../{work.name}/.audiofic/manifest.json"):
        assert client.get(hidden).status_code == 404, hidden
