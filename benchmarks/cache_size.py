"""The speech cache as FLAC against the WAV cache it replaced, same commit, same voices (run by
hand, not by CI):

    .venv/bin/python benchmarks/cache_size.py [SOURCE] [--voices classic]  (default: seed 000, both sets)

For each voice set (classic, and the default: natural where the neural extra is installed) the
work is rendered cold twice into fresh folders: once as shipped (FLAC), once with the cache kept
as the WAV the engines write (the WAV run loads `cache_as_wav/sitecustomize.py`, which makes
`pcmfile.compress` decline, in every process: the path an engine's non-16-bit WAV takes). It
prints the caches' sizes and ratio (target <= 0.50), whether every cached segment and every
chapter decode to the same samples (the engines are repeatable across processes: Piper's noise is
seeded), and the cold render times, the faster of two in alternating order (target: within 10%).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audiofic.sound.pcmfile import read_pcm  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "seeds" / "000_184fd04babaf0899.txt"
WAV_HOOK = Path(__file__).resolve().parent / "cache_as_wav"


def render(source: Path, out: Path, voices: str | None, wav: bool) -> float:
    env = dict(os.environ, AUDIOFIC_VOICES=voices or "")
    if not voices:
        env.pop("AUDIOFIC_VOICES")
    if wav:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(WAV_HOOK), env.get("PYTHONPATH")]))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "audiofic", "render", str(source), "-o", str(out)],
                   check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def entries(out: Path) -> dict[str, Path]:
    cache = next(out.glob("*/.audiofic/cache"))
    return {p.stem: p for pattern in ("??/*.flac", "??/*.wav") for p in cache.glob(pattern)}


def chapter_hashes(out: Path) -> list[str]:
    """Each chapter file's decoded samples (not its bytes: tags are not the question here)."""
    hashes = []
    for mp3 in sorted(next(p for p in out.iterdir() if p.is_dir()).glob("*.mp3")):
        pcm = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", str(mp3), "-f", "s16le", "-"],
                             check=True, capture_output=True).stdout
        hashes.append(hashlib.sha256(pcm).hexdigest())
    return hashes


def compare(source: Path, voices: str | None, tmp: Path, rounds: int = 2) -> dict:
    """Cold renders in alternating order (WAV first, then FLAC first, …): the faster of each."""
    label = voices or "default"
    times: dict[bool, list[float]] = {True: [], False: []}
    for n in range(rounds):
        for wav in ((True, False) if n % 2 == 0 else (False, True)):
            out = tmp / f"{label}-{'wav' if wav else 'flac'}"
            shutil.rmtree(out, ignore_errors=True)
            times[wav].append(render(source, out, voices, wav))
    flac_out, wav_out = tmp / f"{label}-flac", tmp / f"{label}-wav"
    wav_time, flac_time = min(times[True]), min(times[False])
    flac, wav = entries(flac_out), entries(wav_out)
    same_segments = flac.keys() == wav.keys() and all(read_pcm(flac[k])[0] == read_pcm(wav[k])[0] for k in flac)
    flac_bytes = sum(p.stat().st_size for p in flac.values())
    wav_bytes = sum(p.stat().st_size for p in wav.values())
    return {"voices": label, "segments": len(flac), "wav_mb": wav_bytes / 1e6, "flac_mb": flac_bytes / 1e6,
            "ratio": flac_bytes / wav_bytes, "same_segments": same_segments,
            "same_chapters": chapter_hashes(flac_out) == chapter_hashes(wav_out),
            "wav_s": wav_time, "flac_s": flac_time, "time_ratio": flac_time / wav_time,
            "all_times": {"wav": times[True], "flac": times[False]}}


def main() -> None:
    args = sys.argv[1:]
    only = args.pop(args.index("--voices") + 1) if "--voices" in args else None
    args = [a for a in args if a != "--voices"]
    source = Path(args[0]) if args else DEFAULT_SOURCE
    sets = [v for v in ("classic", None) if only is None or (v or "default") == only]
    with tempfile.TemporaryDirectory() as tmp_name:
        results = [compare(source, voices, Path(tmp_name)) for voices in sets]
    print(f"source: {source.name}, {os.cpu_count()} cores")
    for r in results:
        print(f"{r['voices']:>8}: {r['segments']} segments; cache WAV {r['wav_mb']:.1f} MB, FLAC {r['flac_mb']:.1f} MB, "
              f"ratio {r['ratio']:.3f} (target <= 0.50); same samples: segments {r['same_segments']}, "
              f"chapters {r['same_chapters']}; cold render WAV {r['wav_s']:.1f} s, FLAC {r['flac_s']:.1f} s, "
              f"{r['time_ratio']:.3f}x (target within 10%)")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
