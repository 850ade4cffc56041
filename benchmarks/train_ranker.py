"""Train the ranker (audiofic/story/rank.py) on the development sets only (run by hand).

    .venv/bin/python benchmarks/train_ranker.py [--write]

Runs the sieve on the four PDNC development novels and the two fan-fiction seeds (cast given),
collects every line the precise rules leave open with its candidates and their features, and
labels each candidate from the gold speakers. A logistic model is fitted by gradient descent
(pure Python, L2-regularised); the threshold below which a line keeps the neutral voice is the
one that maximises right lines less one and a half times the wrong ones (a wrong character
costs a listener more than the neutral voice).

Prints, leaving each work out in turn (trained on the other five), how the open lines fare with
the ranker against the sieve alone: what a work the model has not seen can expect. With
--write, the model trained on all six is saved to audiofic/story/rank_weights.json.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from pathlib import Path

os.environ.pop("AUDIOFIC_RANKER", None)  # collect what the sieve alone decides
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from attribution import FANFIC, SEEDS, load_cast, load_quotes  # noqa: E402
from audiofic.story.attribute import attribute  # noqa: E402
from audiofic.story.characters import Character  # noqa: E402
from audiofic.read.ingest import normalise_newlines, parse_text  # noqa: E402
from audiofic.run.plan import load_work  # noqa: E402
from audiofic.story.rank import FEATURES, WEIGHTS_FILE, likeliest, score  # noqa: E402
from audiofic.story.segment import detect_quote_style, segment_chapter  # noqa: E402

PDNC = ROOT.parent / "shared" / "pdnc-dev"


def pdnc_examples(folder: Path) -> list[tuple[dict, str | None, str | None]]:
    """(candidates, gold speaker, the sieve's choice) for each open line of a novel."""
    cast, alias_to_main = load_cast(folder)
    text = normalise_newlines((folder / "novel_text.txt").read_text("utf-8"))
    work = parse_text(text)
    style = detect_quote_style(text)
    for chapter in work.chapters:
        chapter.segments = segment_chapter(chapter, None, style)
    collected: list = []
    attribute(work, cast, collect=collected)
    quotes = [(q["span"], alias_to_main.get(q["speaker"].strip(), q["speaker"].strip())) for q in load_quotes(folder)]
    out = []
    for turn, found in collected:
        seg = turn.dialogue[0]
        gold = next((g for (a, b), g in quotes if min(b, seg.end) - max(a, seg.start) > 0), None)
        if gold is not None:
            out.append((found, gold, turn.speaker))
    return out


def fanfic_examples(name: str) -> list[tuple[dict, str | None, str | None]]:
    gold_lines = [json.loads(line) for line in (FANFIC / f"{name}.gold.jsonl").read_text("utf-8").splitlines()]
    data = tomllib.loads((FANFIC / f"{name}.cast.toml").read_text("utf-8"))
    cast = [Character(n, t.get("aliases", []), t.get("gender", "unknown")) for n, t in data["characters"].items()]
    work = load_work(next(SEEDS.glob(f"{name[4:]}_*.txt")))
    collected: list = []
    attribute(work, cast, data.get("narrator"), collect=collected)
    norm = {(g["chapter"], re.sub(r"\s+", " ", g["text"]).strip()): g for g in gold_lines if g["sure"]}
    out = []
    for turn, found in collected:
        gold = norm.get((turn.chapter, re.sub(r"\s+", " ", turn.dialogue[0].text).strip()))
        if gold and gold["speaker"]:
            out.append((found, gold["speaker"], turn.speaker))
    return out


def fit(examples, epochs: int = 400, rate: float = 0.5, l2: float = 1e-3) -> dict[str, float]:
    rows = [(f, float(name == gold)) for found, gold, _ in examples for name, f in found.items()]
    w = {k: 0.0 for k in FEATURES}
    for _ in range(epochs):
        grad = {k: 0.0 for k in FEATURES}
        for f, y in rows:
            error = score(f, w) - y
            for k, v in f.items():
                if v:
                    grad[k] += error * v
        for k in FEATURES:
            w[k] -= rate * (grad[k] / len(rows) + l2 * w[k])
    return {k: round(v, 4) for k, v in w.items()}


def outcome(examples, w, threshold) -> tuple[int, int, int]:
    right = wrong = none = 0
    for found, gold, _ in examples:
        best, p = likeliest(found, w) if found else (None, 0.0)
        if best is None or p < threshold:
            none += 1
        elif best == gold:
            right += 1
        else:
            wrong += 1
    return right, wrong, none


def sieve(examples) -> tuple[int, int, int]:
    right = sum(1 for _, gold, chosen in examples if chosen == gold)
    none = sum(1 for _, _, chosen in examples if chosen is None)
    return right, len(examples) - right - none, none


def best_threshold(examples, w) -> float:
    def value(t):
        right, wrong, _ = outcome(examples, w, t)
        return right - 1.5 * wrong
    return max((t / 20 for t in range(2, 19)), key=value)


def main() -> None:
    works = {p.name: pdnc_examples(p) for p in sorted(PDNC.iterdir()) if (p / "novel_text.txt").is_file()}
    works |= {name: fanfic_examples(name) for name in ("seed000", "seed004")}
    print(f"{'left out':<30} {'open lines':>10}   sieve right/wrong/none   ranker right/wrong/none")
    for name, held in works.items():
        train = [e for other, ex in works.items() if other != name for e in ex]
        w = fit(train)
        t = best_threshold(train, w)
        s, r = sieve(held), outcome(held, w, t)
        print(f"{name:<30} {len(held):>10}   {s[0]:>5} {s[1]:>5} {s[2]:>5}          {r[0]:>5} {r[1]:>5} {r[2]:>5}")
    everything = [e for ex in works.values() for e in ex]
    w = fit(everything)
    t = best_threshold(everything, w)
    print(f"all six: threshold {t:.2f}; weights {w}")
    if "--write" in sys.argv:
        WEIGHTS_FILE.write_text(json.dumps({"weights": w, "threshold": t,
                                            "trained_on": sorted(works)}, indent=1) + "\n", "utf-8")
        print(f"wrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
