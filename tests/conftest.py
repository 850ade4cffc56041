import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
SEED_000 = SEEDS / "000_184fd04babaf0899.txt"
SEED_004 = SEEDS / "004_c356fc4fa9ae2df1.txt"
EXAMPLE = ROOT / "examples" / "the-lighthouse-keepers-cat.md"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here (it lives in ../shared)")
    return path


@pytest.fixture
def seed000():
    return need(SEED_000)


@pytest.fixture
def seed004():
    return need(SEED_004)


@pytest.fixture(autouse=True)
def _in_a_temporary_directory(tmp_path, monkeypatch):
    """Every test runs in a folder of its own, so nothing a test or a tool writes to the current
    directory lands in the repository."""
    monkeypatch.chdir(tmp_path)


# Tests that are not about voices read with espeak-ng (fast, and what they were written for),
# fixtures of every scope included; a test of the default voices takes `natural_voices`.
os.environ["AUDIOFIC_VOICES"] = "classic"


@pytest.fixture
def natural_voices(monkeypatch):
    """audiofic's own default voices: natural (neural) ones where the neural extra is installed."""
    from audiofic.casting.config import natural_voices_installed

    if not natural_voices_installed():
        pytest.skip("the neural extra is not installed")
    monkeypatch.delenv("AUDIOFIC_VOICES", raising=False)


def script_records(*args, env=None) -> list[dict]:
    """`audiofic script ARGS --format jsonl`, which must succeed, as one dict per segment."""
    result = run_cli("script", *args, "--format", "jsonl", env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def run_cli(*args, env=None, cwd=None, timeout=600):
    """Run the real command line in a fresh process, as a user would (in the test's own folder)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "audiofic", *map(str, args)],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=timeout,
    )


def ffprobe(path: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "-show_chapters", str(path)],
        capture_output=True, text=True, check=True,
    ).stdout
    return json.loads(out)


def assert_one_line_error(result):
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("audiofic: error: "), result.stderr
    assert "unexpected" not in lines[0], result.stderr  # a bug caught by the last line of defence
    assert "Traceback" not in result.stderr


def attributed_and_cast(work, config):
    """What `prepare` does between loading a work and planning it: find the cast, attribute
    the lines, cast the voices. Gives the attributed work and its casting."""
    from audiofic.casting.cast import cast_work, find_cast
    from audiofic.story.attribute import attribute

    cast = find_cast(work, config)
    attribution = attribute(work, cast.characters, config.narrator_character, config.overrides)
    work = attribution.apply(work)
    return work, cast_work(work, cast, attribution.narrator, config)
