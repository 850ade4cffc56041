"""Rank: a small learned step for the lines the sieve's precise rules leave open.

For a line decided only by an action beat or by turn-taking, or not at all, every plausible
speaker (the neighbouring turns' speakers, whoever the previous line spoke to, the names the
narration just used, the chapter's narrator) is scored by a logistic model over the sieve's
own evidence; the best one speaks the line when the model is sure enough, else the line keeps
the neutral voice (a wrong character costs a listener more than the fallback voice).

The weights (rank_weights.json, beside this file) are trained on the development sets only, by
benchmarks/train_ranker.py. Pure Python: a few multiplications per candidate.
"""

from __future__ import annotations

import json
import math
import os
from functools import cache
from pathlib import Path

OPEN_RULES = (None, "beat", "turns")  # the lines the ranker may decide
FEATURES = ("bias", "rule_beat", "rule_turns", "prev", "prev2", "next", "next2", "addressed_by_prev",
            "addresses_prev", "addressed_here", "named_here", "subject_here", "mention_rank", "gender_match",
            "gender_clash", "narrator", "chain_speaker", "lone_line")


WEIGHTS_FILE = Path(__file__).with_name("rank_weights.json")


@cache
def weights() -> tuple[dict[str, float], float] | None:
    """(feature weights, the share below which a line keeps the neutral voice), when the ranker
    is on (AUDIOFIC_RANKER=on): off by default, since on our development texts it trades right
    lines for fewer wrong voices (see benchmarks/attribution.py)."""
    if os.environ.get("AUDIOFIC_RANKER") != "on" or not WEIGHTS_FILE.is_file():
        return None
    data = json.loads(WEIGHTS_FILE.read_text("utf-8"))
    return data["weights"], data["threshold"]


def candidates(turns, i: int, mentions, index, narrator: str | None, genders: dict[str, str]) -> dict[str, dict]:
    """Every plausible speaker of turns[i] with its features."""
    turn = turns[i]

    def near(step: int):
        j = i + step
        return turns[j] if 0 <= j < len(turns) and turns[j].chain == turn.chain else None

    prev, prev2, nxt, nxt2 = near(-1), near(-2), near(1), near(2)
    chain = [t.speaker for t in turns[max(0, i - 12):i + 12] if t.chain == turn.chain and t.speaker]
    recent = [names[0] for _pos, names in reversed(mentions.between(turn.position - 1500, turn.position))]
    recent = list(dict.fromkeys(recent))[:4]
    here = [names[0] for seg in turn.narration for _s, _e, names in index.find(seg.text)]
    subject = here[:1]
    pool = {n for t in (prev, prev2, nxt, nxt2) if t for n in [t.speaker] if n}
    pool |= set(prev.addressees if prev else []) | set(recent) | set(here) | set(chain)
    if turn.speaker:
        pool.add(turn.speaker)
    if narrator:
        pool.add(narrator)
    found = {}
    for name in pool:
        gender = genders.get(name, "unknown")
        found[name] = {
            "bias": 1.0,
            "rule_beat": float(turn.rule == "beat" and turn.speaker == name),
            "rule_turns": float(turn.rule == "turns" and turn.speaker == name),
            "prev": float(bool(prev) and prev.speaker == name),
            "prev2": float(bool(prev2) and prev2.speaker == name),
            "next": float(bool(nxt) and nxt.speaker == name),
            "next2": float(bool(nxt2) and nxt2.speaker == name),
            "addressed_by_prev": float(bool(prev) and name in prev.addressees),
            "addresses_prev": float(bool(prev) and prev.speaker in turn.addressees and prev.speaker != name),
            "addressed_here": float(name in turn.addressees),
            "named_here": float(name in here),
            "subject_here": float(name in subject),
            "mention_rank": 1.0 / (1 + recent.index(name)) if name in recent else 0.0,
            "gender_match": float(bool(turn.pronoun) and gender == turn.pronoun),
            "gender_clash": float(bool(turn.pronoun) and gender not in (turn.pronoun, "unknown")),
            "narrator": float(name == narrator),
            "chain_speaker": min(1.0, chain.count(name) / 4),
            "lone_line": float(prev is None and nxt is None),
        }
    return found


def score(features: dict[str, float], w: dict[str, float]) -> float:
    z = sum(w.get(k, 0.0) * v for k, v in features.items())
    return 1 / (1 + math.exp(-max(-30.0, min(30.0, z))))


def choose(found: dict[str, dict], model: tuple[dict[str, float], float]) -> tuple[str | None, float]:
    """The likeliest speaker and its probability; None when the model is not sure enough."""
    w, threshold = model
    if not found:
        return None, 0.0
    best, p = likeliest(found, w)
    return (best if p >= threshold else None), p


def likeliest(found: dict[str, dict], w: dict[str, float]) -> tuple[str, float]:
    """The best candidate, and its share of the candidates' summed likelihood (how clearly the
    evidence points at one of them)."""
    scores = {name: score(found[name], w) for name in sorted(found)}
    best = max(scores, key=scores.get)
    return best, scores[best] / sum(scores.values())
