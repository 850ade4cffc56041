"""When each sentence of a segment is heard, found in the segment's own audio.

The first starts where the voice does (after the engine's lead-in silence). Every engine leaves a pause between sentences, longer than the breath at a comma. Each boundary
is placed at the pause that best fits it: long, and near where the sentence's share of the
segment's letters would put it (the letters only choose among pauses; the time is the audio's:
where speech starts again). A boundary with no pause near it (a run-on) falls back to the share.
"""

from __future__ import annotations

import numpy as np

FRAME_MS = 10
QUIET_DB = -40.0  # below the segment's loudest frame: a pause
MIN_PAUSE_MS = 60
DISTANCE_COST_MS = 150.0  # a pause one second from where the letters expect it counts 150 ms shorter
LEAD_S = 0.04  # a cue shows a moment before its first word


def quiet_frames(pcm: bytes, rate: int) -> np.ndarray:
    """For each FRAME_MS of the audio: is it quiet (QUIET_DB under the loudest frame)?"""
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    frame = max(1, rate * FRAME_MS // 1000)
    count = len(samples) // frame
    if count < 3:
        return np.zeros(0, dtype=bool)
    energy = (samples[: count * frame].reshape(count, frame) ** 2).mean(axis=1) + 1e-9
    return 10 * np.log10(energy / energy.max()) < QUIET_DB


def onset(pcm: bytes, rate: int) -> float:
    """When the voice starts: engines begin a segment with a moment of silence."""
    loud = np.flatnonzero(~quiet_frames(pcm, rate))
    return max(0.0, loud[0] * FRAME_MS / 1000 - LEAD_S) if len(loud) else 0.0


def pauses(pcm: bytes, rate: int) -> list[tuple[float, float]]:
    """(start, end) in seconds of each quiet stretch of at least MIN_PAUSE_MS inside the speech."""
    quiet = quiet_frames(pcm, rate)
    runs, start = [], None
    for i, q in enumerate(quiet):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if start > 0 and (i - start) * FRAME_MS >= MIN_PAUSE_MS:  # inside the speech, not before it
                runs.append((start * FRAME_MS / 1000, i * FRAME_MS / 1000))
            start = None
    return runs


def sentence_starts(pcm: bytes, rate: int, weights: list[int]) -> list[float]:
    """Seconds into the segment at which each sentence (weighted by its letters) starts."""
    duration = len(pcm) / 2 / rate
    if not weights or duration <= 0:
        return [0.0] * len(weights)
    first = onset(pcm, rate)
    if len(weights) == 1:
        return [first]
    total = float(sum(weights)) or 1.0
    found = pauses(pcm, rate)
    starts, after = [first], first
    for k in range(1, len(weights)):
        expected = duration * sum(weights[:k]) / total
        best, best_score = None, None
        for begin, end in found:
            if end <= after + 0.05:
                continue
            score = (end - begin) * 1000 - DISTANCE_COST_MS * abs((begin + end) / 2 - expected)
            if best_score is None or score > best_score:
                best, best_score = (begin, end), score
        if best is not None and best_score > 0:
            start = max(after, best[1] - LEAD_S)
        else:
            start = max(after, expected)
        starts.append(start)
        after = start
    return starts
