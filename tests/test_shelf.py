"""A shelf: many works in one run, locally and on a real Ray cluster (a node killed mid-render)."""

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import podcastparser
import pytest

from audiofic.errors import AudioficError
from audiofic.publish.serve import feeds
from audiofic.run.shelf import collect
from conftest import ffprobe, run_cli

NAMES = [("Mara", "Tobias"), ("Ines", "Corvin"), ("Lotte", "Arvid")]


def write_shelf(folder, chapters=2, paragraphs=4):
    """Three small works of our own, two characters talking in each."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n, (one, two) in enumerate(NAMES):
        lines = [f"Title: Harbour Story {n + 1}", "Author: The audiofic tests", ""]
        for c in range(1, chapters + 1):
            lines += [f"Chapter {c}: Tide {c}", ""]
            for p in range(paragraphs):
                lines += [f"The boats came in at {p + c} o'clock, and {one} counted them from the pier.", "",
                          f'"Number {p + 2 * c} is late again," said {one}.', "",
                          f'"It always is, in weather like this," {two} answered, and laughed.', ""]
        path = folder / f"work-{n + 1}.txt"
        path.write_text("\n".join(lines), "utf-8")
        paths.append(path)
    return paths


def audio_files(out):
    return {p.relative_to(out): p.read_bytes() for p in sorted(out.glob("*/*.mp3"))}


def test_collect_files_folders_and_lists(tmp_path):
    works = write_shelf(tmp_path / "w")
    (tmp_path / "w" / "notes.jpg").write_bytes(b"x")
    (tmp_path / "w" / ".hidden").mkdir()
    (tmp_path / "w" / ".hidden" / "x.txt").write_text("hidden")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# my shelf\nw/work-2.txt\n\n{works[0]}  # absolute\n")
    assert collect([tmp_path / "w"]) == works
    assert collect([f"@{listing}", tmp_path / "w"]) == [works[1], works[0], works[2]]  # each work once
    with pytest.raises(AudioficError, match="no such file"):
        collect([tmp_path / "missing"])


def test_local_shelf_summary_feeds_and_a_failed_work(tmp_path):
    works = write_shelf(tmp_path / "w", chapters=2, paragraphs=1)
    (tmp_path / "w" / "broken.epub").write_bytes(b"PK\x03\x04 not really a zip")
    out = tmp_path / "out"
    first = run_cli("shelf", tmp_path / "w", "-o", out, "-j", "2")
    assert first.returncode == 1  # a work failed; the others were rendered
    assert "broken.epub: failed:" in first.stdout and "Traceback" not in first.stderr + first.stdout
    assert "works: 3 rendered, 0 current, 1 failed" in first.stdout
    assert len(audio_files(out)) == 6
    for path in out.glob("*/*.mp3"):
        assert float(ffprobe(path)["format"]["duration"]) > 2
    listed = [o.get("xmlUrl") for o in ET.parse(out / "shelf.opml").iter("outline")]
    assert sorted(listed) == [f"http://127.0.0.1:8000/harbour-story-{n}/feed.xml" for n in (1, 2, 3)]
    assert [str(p) for p in feeds(out)][:2] == ["shelf.opml", "harbour-story-1/feed.xml"]  # what serve lists
    shared = {p for p in (out / ".audiofic" / "cache").rglob("*.flac")}
    assert shared and not list(out.glob("*/.audiofic/cache"))  # one cache for the shelf

    stray = out / ".audiofic" / "cache" / "00" / ("0" * 40 + ".flac")  # speech no work uses any more
    stray.parent.mkdir(exist_ok=True)
    stray.write_bytes(next(iter(shared)).read_bytes())
    pruned = run_cli("cache", "-o", out, "--prune")
    assert pruned.returncode == 0 and "pruned 1 " in pruned.stdout, pruned.stdout
    assert not stray.exists() and all(p.exists() for p in shared)

    again = run_cli("shelf", *works, "-o", out, "--one-feed", "--base-url", "https://example.org/shelf")
    assert again.returncode == 0
    assert "works: 0 rendered, 3 current, 0 failed" in again.stdout and "0 synthesized" in again.stdout
    with open(out / "feed.xml", "rb") as fh:
        feed = podcastparser.parse("https://example.org/shelf/feed.xml", fh)
    titles = [e["title"] for e in feed["episodes"]]
    assert sorted(titles) == sorted(f"Harbour Story {n}: Chapter {c}: Tide {c}" for n in (1, 2, 3) for c in (1, 2))
    urls = {e["enclosures"][0]["url"] for e in feed["episodes"]}
    assert "https://example.org/shelf/harbour-story-2/01%20-%20Chapter%201%20-%20Tide%201.mp3" in urls
    own = (out / "harbour-story-2" / "feed.xml").read_text()
    assert "https://example.org/shelf/harbour-story-2/" in own  # each work's feed points into its folder


ray = pytest.importorskip("ray", reason="Ray is the optional 'ray' extra")


def test_an_unreachable_cluster_is_one_line_at_once(tmp_path):
    write_shelf(tmp_path / "w", chapters=1, paragraphs=1)
    started = time.monotonic()
    for address, message in (("127.0.0.1:1", "could not reach the Ray cluster at 127.0.0.1:1"),
                             ("nowhere", "give HOST:PORT, auto or local")):
        result = run_cli("shelf", tmp_path / "w", "-o", tmp_path / "out", "--ray", address)
        assert result.returncode == 1 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert time.monotonic() - started < 60  # Ray on its own retries for minutes
    assert not list((tmp_path / "out").rglob("*.mp3"))


def test_ray_shelf_survives_a_lost_node_and_matches_the_local_render(tmp_path):
    from ray.cluster_utils import Cluster

    write_shelf(tmp_path / "w", chapters=2, paragraphs=8)
    local = tmp_path / "local"
    assert run_cli("shelf", tmp_path / "w", "-o", local, "-j", "2").returncode == 0
    calibration = len(json.loads((local / ".audiofic" / "cache" / "levels.json").read_text()))
    segments = len(list((local / ".audiofic" / "cache").rglob("*.flac"))) - calibration

    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 1, "include_dashboard": False,
        "_system_config": {"health_check_period_ms": 500, "health_check_failure_threshold": 4}})
    try:
        doomed = cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        out = tmp_path / "ray"
        cache = out / ".audiofic" / "cache"
        proc = subprocess.Popen([sys.executable, "-m", "audiofic", "shelf", str(tmp_path / "w"), "-o", str(out),
                                 "--ray", cluster.address], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=tmp_path)
        deadline = time.monotonic() + 180
        # The voices' calibration passages are synthesized first, by the driver; then the actors start.
        while len(list(cache.rglob("*.flac"))) < calibration + 6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        done = len(list(cache.rglob("*.flac"))) - calibration
        assert proc.poll() is None and done < segments / 2, "the render got too far before a node could be lost"
        cluster.remove_node(doomed, allow_graceful=False)  # its actors die with their segments in flight
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        cluster.shutdown()
    assert proc.returncode == 0, stderr
    assert "a Ray worker was lost" in stderr, (done, segments, stdout)  # the lost node had segments in flight
    assert "works: 3 rendered, 0 current, 0 failed" in stdout and "Traceback" not in stderr + stdout
    assert "raylet" not in stdout + stderr  # Ray's own reports stay out of the user's terminal
    assert audio_files(out) == audio_files(local)  # byte-identical to the render on this machine
    assert len(audio_files(out)) == 6
