"""When each sentence of a segment is heard, found in the segment's own audio.

The first starts where the voice does (after the engine's lead-in silence). Every engine leaves a
pause between sentences, longer than the breath at a comma. The boundaries are placed together,
in order, at the pauses that fit them best: long, and near where each sentence's share of the
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
MATCHED = 10_000.0  # every sentence has its pause: placing one more outweighs any better fit
MAX_CELLS = 250_000  # sentences x pauses placed together; past this, one boundary at a time


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


def sentence_starts(pcm: bytes, rate: int, weights: list[int], known: list[float | None] | None = None) -> list[float]:
    """Seconds into the segment at which each sentence (weighted by its letters) starts.
    `known`: where the engine said a sentence's speech begins (its marks), exact; the others
    are found in the audio, between the known ones."""
    duration = len(pcm) / 2 / rate
    if not weights or duration <= 0:
        return [0.0] * len(weights)
    first = onset(pcm, rate)
    if len(weights) == 1:
        return [first]
    total = float(sum(weights)) or 1.0
    expected = [duration * sum(weights[:k]) / total for k in range(1, len(weights))]
    found = [p for p in pauses(pcm, rate) if p[1] - LEAD_S > first]
    matched = align(expected, found)
    starts = [first]
    for k, where in enumerate(matched):
        starts.append(max(starts[-1], found[where][1] - LEAD_S if where is not None else expected[k]))
    exact = [None] + [_speech_from(pcm, rate, t) if t is not None else None for t in (known or [])[1:len(weights)]]
    return _between_known(starts, exact + [None] * (len(weights) - len(exact)))


def _speech_from(pcm: bytes, rate: int, mark: float) -> float:
    """A mark is where the engine began a word or sentence; its sound may start a moment later."""
    at = int(mark * rate) * 2  # 16-bit samples
    return mark + onset(pcm[at: at + 2 * rate], rate)  # the second after it


def _between_known(found: list[float], exact: list[float | None]) -> list[float]:
    """Known starts as they are; a found one kept between the known ones around it, all in order."""
    out = []
    for k, t in enumerate(found):
        if exact[k] is not None:
            out.append(max(exact[k], out[-1] if out else 0.0))
            continue
        after = next((e for e in exact[k + 1:] if e is not None), None)
        t = min(t, after) if after is not None else t
        out.append(max(t, out[-1] if out else 0.0))
    return out


def align(expected: list[float], found: list[tuple[float, float]]) -> list[int | None]:
    """Each boundary's pause (an index into `found`, or None), in order, each pause used once,
    the choice that scores best in all: a whole paragraph is placed at once, so a short sentence
    cannot take the pause that belongs to the next one."""
    def score(k: int, j: int) -> float:
        begin, end = found[j]
        return (end - begin) * 1000 - DISTANCE_COST_MS * abs((begin + end) / 2 - expected[k])

    rows, cols = len(expected), len(found)
    if rows * cols > MAX_CELLS:  # a chapter-long paragraph: each boundary on its own, in order
        return _one_by_one(expected, found, score)
    best = [[0.0] * (cols + 1) for _ in range(rows + 1)]
    for k in range(1, rows + 1):
        for j in range(1, cols + 1):
            take = score(k - 1, j - 1)  # a fitting pause for every sentence first, then the best fits
            best[k][j] = max(best[k - 1][j], best[k][j - 1],
                             best[k - 1][j - 1] + MATCHED + take if take > 0 else float("-inf"))
    matched: list[int | None] = [None] * rows
    k, j = rows, cols
    while k and j:
        if best[k][j] == best[k - 1][j]:
            k -= 1
        elif best[k][j] == best[k][j - 1]:
            j -= 1
        else:
            matched[k - 1] = j - 1
            k, j = k - 1, j - 1
    return matched


def _one_by_one(expected, found, score) -> list[int | None]:
    matched: list[int | None] = []
    after = -1
    for k in range(len(expected)):
        options = [(score(k, j), j) for j in range(after + 1, len(found))]
        take = max(options, default=(0.0, None))
        matched.append(take[1] if take[0] > 0 else None)
        after = take[1] if take[0] > 0 else after
    return matched
