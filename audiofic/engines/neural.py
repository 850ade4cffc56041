"""What the neural engines share: phonemes from the espeak-ng program, an onnxruntime session,
and the WAV they write.

The phonemes come from running `espeak-ng` as a separate program (GPL, never imported), and
the models run in onnxruntime (MIT): no GPL library is loaded into our process. onnxruntime
gets one intra-op thread per worker (its thread spinning made two threads slower than one
under load); a GPU provider is used when onnxruntime offers one.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Callable
from functools import cache
from pathlib import Path

from ..errors import AudioficError
from . import in_fresh_child, write_wav
from .pyttsx3_engine import espeak_version  # noqa: F401 - the phonemes' version, in the neural engines' cache keys

CLAUSE_END = re.compile(r"[,;:.!?…—–]+")
# A model's working memory grows with what it is given at once (about 1 MB a phoneme for Piper
# and for Kokoro), and a paragraph of fan fiction can run to thousands: each run is given at
# most this many phonemes, cut where a reader would pause.
CHUNK = 150


def need(module: str, extra: str = "neural"):
    try:
        return __import__(module)
    except ImportError:
        raise AudioficError(f"the neural voices need {module}: install audiofic with its extras "
                            f"(pip install -e '.[{extra}]', which ./install.sh does)") from None


def phonemes(text: str, espeak_voice: str) -> str:
    """IPA for `text` by the espeak-ng program, clause by clause, with each clause's own
    punctuation put back (espeak-ng prints clauses as lines and drops the marks)."""
    try:
        out = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", espeak_voice, "--stdin"], input=text,
                             capture_output=True, text=True, timeout=60, env=dict(os.environ, PULSE_SERVER="none"))
    except (OSError, subprocess.SubprocessError) as exc:
        raise AudioficError(f"espeak-ng could not give phonemes ({exc}); it is needed by the neural voices") from None
    if out.returncode != 0:
        raise AudioficError(f"espeak-ng could not give phonemes for voice {espeak_voice!r}: {out.stderr.strip()}")
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    marks = [m.group()[-1] for m in CLAUSE_END.finditer(text)]
    if len(marks) < len(lines):
        marks += [","] * (len(lines) - len(marks))
    pieces = [f"{line}{mark if mark in ',.!?;:' else ','}" for line, mark in zip(lines, marks)]
    if pieces and pieces[-1][-1] == ",":
        pieces[-1] = pieces[-1][:-1] + "."
    return " ".join(pieces)


# espeak-ng's IPA diphthongs and affricates as misaki (Kokoro's and hibari's alphabet) writes them.
MISAKI_FROM_IPA = [("eɪ", "A"), ("aɪ", "I"), ("aʊ", "W"), ("ɔɪ", "Y"), ("oʊ", "O"), ("əʊ", "Q"), ("dʒ", "ʤ"),
                   ("tʃ", "ʧ"), ("ɚ", "əɹ")]


def misaki(ipa: str) -> str:
    for symbol, written in MISAKI_FROM_IPA:
        ipa = ipa.replace(symbol, written)
    return ipa


def chunks(ipa: str, limit: int = CHUNK) -> list[str]:
    """`phonemes` output in runs of at most `limit` symbols: whole sentences together where they
    fit, a longer sentence cut at its clauses, a longer clause between words."""
    levels = (r"(?<=[.!?])\s+", r"(?<=[,;:])\s+", r"\s+")

    def pack(text: str, level: int) -> list[str]:
        if len(text) <= limit:
            return [text]
        if level == len(levels):
            return [text[i:i + limit] for i in range(0, len(text), limit)]
        out: list[str] = []
        for part in filter(None, re.split(levels[level], text)):
            for piece in pack(part, level + 1):
                if out and len(out[-1]) + 1 + len(piece) <= limit:
                    out[-1] += " " + piece
                else:
                    out.append(piece)
        return out

    return pack(ipa.strip(), 0) if ipa.strip() else []


GPU = "CUDAExecutionProvider"
NOISE_SEED = 20261205  # the noise VITS samples: the same in every process, so a segment is the same twice


def providers(available: list[str]) -> list[str]:
    """The GPU first where onnxruntime offers one (the onnxruntime-gpu build), then the CPU."""
    return [p for p in (GPU, "CPUExecutionProvider") if p in available]


def session(model: Path | bytes, label: str = ""):
    """An onnxruntime session (from a file, or a model's bytes): GPU where onnxruntime offers
    one, else one CPU thread."""
    ort = need("onnxruntime")
    ort.set_seed(NOISE_SEED)  # read by a model's random ops as the session builds them
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_mem_pattern = False  # planned for one input shape; every segment has its own: only waste
    try:
        source = model if isinstance(model, bytes) else str(model)
        return ort.InferenceSession(source, sess_options=options, providers=providers(ort.get_available_providers()))
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types; one line for the user
        raise AudioficError(f"{label or model}: the voice model would not load ({exc})") from None


def speak_repeatably(model_session, speak: Callable[[], None], what: str) -> None:
    """`speak` on the CPU in a fresh child (engines.in_fresh_child), so the noise the model
    samples starts from the same state for every segment. A GPU's context does not survive a
    fork, so on a GPU it runs here: as good, but its noise is not the same twice (the cache
    keeps what was said)."""
    in_fresh_child(speak, what, here=GPU in model_session.get_providers())


def write_float_wav(path: Path, samples, sample_rate: int, volume: float = 1.0, marks=()) -> None:
    """A model's float samples, at `volume` and never clipped, as a 16-bit WAV."""
    np = need("numpy")
    audio = np.asarray(samples, dtype=np.float32).ravel() * volume
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak > 1.0:
        audio = audio / peak
    write_wav(path, (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes(), sample_rate, marks)


def file_hash(path: Path) -> str:
    """A model file's hash for the cache key, computed once per file (and size and time) per process."""
    stat = Path(path).stat()
    return _file_hash(str(path), stat.st_size, stat.st_mtime_ns)


@cache
def _file_hash(path: str, _size: int, _mtime: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]
