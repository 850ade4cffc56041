"""Re-render only what changed: cache keys, manifest skips, new chapters, kill and resume."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from mutagen.id3 import ID3

from audiofic.casting.config import load_config
from audiofic.run.plan import load_work, plan
from conftest import EXAMPLE, ffprobe, run_cli, script_records


def keys_by_kind(the_plan):
    out = {}
    for cp in the_plan.chapters:
        for p in cp.segments:
            out.setdefault(p.segment.kind, []).append(p.key)
    return out


def test_cache_key_misses_on_rate_and_hits_on_unrelated_change(tmp_path):
    work = load_work(EXAMPLE)
    base = keys_by_kind(plan(work, load_config()))
    rate = tmp_path / "rate.toml"
    rate.write_text("[narrator]\nrate = 190\n")
    other = tmp_path / "other.toml"
    other.write_text('[dialogue]\nvoice = "en-029"\n')
    faster = keys_by_kind(plan(work, load_config(rate)))
    recast = keys_by_kind(plan(work, load_config(other)))
    assert not set(base["narration"]) & set(faster["narration"])  # every narration segment misses
    assert base["dialogue"] == faster["dialogue"]  # dialogue is untouched by the narrator's rate
    assert base["narration"] == recast["narration"]  # narration untouched by a dialogue voice change
    assert not set(base["dialogue"]) & set(recast["dialogue"])


def state(folder):
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*.mp3"))}


def audio_payload(path):
    """The MP3 frames without the ID3 tag in front."""
    data = path.read_bytes()
    size = ID3(path).size
    return data[size:]


def test_unchanged_render_touches_nothing_and_one_chapter_change_rewrites_one(tmp_path):
    out = tmp_path / "out"
    assert run_cli("render", EXAMPLE, "-o", out).returncode == 0
    before = state(out)
    time.sleep(0.05)
    again = run_cli("render", EXAMPLE, "-o", out)
    assert again.returncode == 0 and "0 rendered, 3 skipped" in again.stdout
    assert "0 synthesized" in again.stdout
    assert state(out) == before

    voices = tmp_path / "v.toml"
    voices.write_text("[narrator]\nrate = 190\n")
    one = run_cli("render", EXAMPLE, "-o", out, "--voices", voices, "--chapter", "2")
    assert one.returncode == 0, one.stderr
    after = state(out)
    changed = sorted(name for name in after if after[name] != before[name])
    assert changed == ["02 - Chapter Two - Tea and Questions.mp3"]

    forced = run_cli("render", EXAMPLE, "-o", out, "--force", "--chapter", "1-2")
    assert forced.returncode == 0 and "2 rendered" in forced.stdout


def test_a_new_chapter_is_added_and_old_ones_only_retagged(tmp_path):
    story = tmp_path / "story.md"
    shutil.copy(EXAMPLE, story)
    out = tmp_path / "out"
    assert run_cli("render", story, "-o", out).returncode == 0
    files = sorted(out.rglob("*.mp3"))
    payloads = {f.name: audio_payload(f) for f in files}
    with open(story, "a", encoding="utf-8") as fh:
        fh.write('\n# Chapter Four: Breakfast\n\n"Eggs," said Mara. Biscuit agreed.\n')
    result = run_cli("render", story, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "1 rendered, 3 skipped, 3 retagged" in result.stdout
    now = sorted(out.rglob("*.mp3"))
    assert now[-1].name == "04 - Chapter Four - Breakfast.mp3"
    for n, f in enumerate(now, 1):
        assert str(ID3(f)["TRCK"]) == f"{n}/4"
        if f.name in payloads:
            assert audio_payload(f) == payloads[f.name]  # not re-encoded


def test_cache_prune_drops_only_unused_entries(tmp_path):
    out = tmp_path / "out"
    assert run_cli("render", EXAMPLE, "-o", out).returncode == 0
    voices = tmp_path / "v.toml"
    voices.write_text("[narrator]\nrate = 200\n")
    assert run_cli("render", EXAMPLE, "-o", out, "--voices", voices).returncode == 0
    cache = next(out.glob("*/.audiofic/cache"))
    total = len(list(cache.glob("??/*.flac")))
    pruned = run_cli("cache", "-o", out, "--prune")
    assert pruned.returncode == 0, pruned.stderr
    left = len(list(cache.glob("??/*.flac")))
    assert 0 < left < total
    again = run_cli("render", EXAMPLE, "-o", out, "--voices", voices, "--force")
    assert "0 synthesized" in again.stdout  # everything still needed survived the prune


def start_render(source, out):
    return subprocess.Popen(
        [sys.executable, "-m", "audiofic", "render", str(source), "-o", str(out), "--jobs", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )


def wait_for_first_file(proc, out, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list(out.glob("*/[0-9]*.mp3")):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no chapter was finished in time")


def assert_complete_files(out):
    manifest = json.loads(next(out.glob("*/.audiofic/manifest.json")).read_text())
    recorded = {name: entry["seconds"] for entry in manifest["chapters"].values()
                for name in entry.get("files", {}).values()}
    for f in out.glob("*/*.mp3"):
        assert f.name in recorded, f"{f.name} sits under a final name but was never finished"
        duration = float(ffprobe(f)["format"]["duration"])
        assert abs(duration - recorded[f.name]) < 0.2, (f.name, duration, recorded[f.name])


def test_interrupt_and_kill_then_resume(seed000, tmp_path):
    out = tmp_path / "out"
    # Ctrl-C: the whole process group gets SIGINT, as from a terminal.
    proc = start_render(seed000, out)
    wait_for_first_file(proc, out)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().count("\n") == 0, err
    assert not list(out.rglob("*.partial"))
    assert_complete_files(out)

    # A hard kill: nothing gets to clean up.
    proc = start_render(seed000, out)
    time.sleep(2.0)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert_complete_files(out)
    done_before = len(list(out.glob("*/*.mp3")))

    resumed = run_cli("render", seed000, "-o", out)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{done_before} skipped" in resumed.stdout
    assert " 0 cached" not in resumed.stdout  # resumed from the cache
    assert len(list(out.glob("*/*.mp3"))) == 11
    assert not list(out.rglob("*.partial"))
    assert_complete_files(out)


def test_the_m4b_is_rebuilt_only_when_its_audio_changes(tmp_path):
    out = tmp_path / "out"
    first = run_cli("render", EXAMPLE, "-o", out, "--format", "m4b")
    assert first.returncode == 0 and "m4b written" in first.stdout, first.stderr
    m4b = next(out.glob("*/*.m4b"))
    stamp = m4b.stat().st_mtime_ns
    both = run_cli("render", EXAMPLE, "-o", out, "--format", "m4b", "--format", "mp3")
    assert "3 rendered" in both.stdout and "m4b unchanged" in both.stdout
    assert m4b.stat().st_mtime_ns == stamp
    voices = tmp_path / "v.toml"
    voices.write_text("[narrator]\nrate = 200\n")
    changed = run_cli("render", EXAMPLE, "-o", out, "--format", "m4b", "--voices", voices)
    assert "m4b written" in changed.stdout


def hearing(records):
    return [(r["chapter"], r["index"], r["speaker"], r["engine"], r["voice"]) for r in records]


def test_the_cast_file_a_first_render_writes_reproduces_that_render(seed000, seed004, tmp_path):
    """The cast file holds the cast as attribution heard it (names that never speak, genders the
    text gave), so every line keeps its speaker and voice, and a second render does nothing."""
    for work, chapter in ((seed000, "5"), (seed004, "1"), (EXAMPLE, "2")):
        out = tmp_path / work.stem
        first = hearing(script_records(work, "-o", out))
        rendered = run_cli("render", work, "-o", out, "--chapter", chapter)
        assert rendered.returncode == 0, rendered.stderr
        assert next(out.glob("*/voices.toml")).exists()
        assert hearing(script_records(work, "-o", out)) == first
        files = {p: p.stat().st_mtime_ns for p in out.glob("*/*") if p.is_file()}
        again = run_cli("render", work, "-o", out, "--chapter", chapter)
        assert again.returncode == 0, again.stderr
        assert "0 rendered" in again.stdout and "0 synthesized" in again.stdout, again.stdout
        assert {p: p.stat().st_mtime_ns for p in out.glob("*/*") if p.is_file()} == files


def test_ctrl_c_at_random_moments_stops_every_time_and_resumes_to_the_same_files(tmp_path):
    """SIGINT to the whole process group (a terminal's Ctrl-C) and to the main process alone (a
    process manager), at 20 moments drawn at random through a render: exit 130 within 10 s with
    one line, no partial file, and the next render finishes with the bytes of an uninterrupted one.
    The render is started with SIGINT ignored, as a shell starts a background job."""
    import random

    reference = tmp_path / "reference"
    out = tmp_path / "out"
    command = [sys.executable, "-m", "audiofic", "render", str(EXAMPLE), "-o", str(out), "--jobs", "2", "--force"]

    def timed(args):
        started = time.monotonic()
        assert subprocess.run(args, capture_output=True).returncode == 0
        return time.monotonic() - started

    cold = timed([sys.executable, "-m", "audiofic", "render", str(EXAMPLE), "-o", str(reference)])  # uninterrupted
    timed(command)
    warm = timed(command)  # with the segments cached: encoding only
    draw = random.Random(20)
    interrupted = attempts = 0
    while interrupted < 20 and attempts < 60:
        attempts += 1
        cold_cache = attempts % 5 == 1  # now and then synthesis is interrupted as well as encoding
        if cold_cache:
            shutil.rmtree(out / "the-lighthouse-keeper-s-cat" / ".audiofic" / "cache", ignore_errors=True)
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
        time.sleep(draw.uniform(0.2, 0.8 * (cold if cold_cache else warm)))
        if proc.poll() is not None:  # it finished first (a busy machine): nothing to interrupt this time
            assert proc.returncode == 0, proc.communicate()
            continue
        if interrupted % 2:
            os.kill(proc.pid, signal.SIGINT)
        else:
            os.killpg(proc.pid, signal.SIGINT)
        sent = time.monotonic()
        _, err = proc.communicate(timeout=30)
        assert time.monotonic() - sent < 10, f"took {time.monotonic() - sent:.1f} s to stop"
        if proc.returncode == 0:  # the signal came as it was finishing
            continue
        interrupted += 1
        assert proc.returncode == 130, err
        assert err.strip().count("\n") == 0 and "interrupted" in err and "Traceback" not in err, err
        assert not list(out.rglob("*.partial")) and not list(out.rglob("*.spare.wav"))
    assert interrupted == 20, f"only {interrupted} of {attempts} runs were still running when signalled"
    resumed = run_cli("render", EXAMPLE, "-o", out)
    assert resumed.returncode == 0, resumed.stderr
    mp3s = sorted(p.name for p in reference.glob("*/*.mp3"))
    assert sorted(p.name for p in out.glob("*/*.mp3")) == mp3s
    for name in mp3s:
        assert (next(out.glob(f"*/{name}"))).read_bytes() == next(reference.glob(f"*/{name}")).read_bytes(), name
