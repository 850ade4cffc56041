"""Speaker attribution on the PDNC development novels (run by hand, not by CI).

    .venv/bin/python benchmarks/attribution.py [PDNC_DIR]   (default: ../shared/pdnc-dev)

Scored as PDNC's README says: the cast is given from character_info.csv, as a user's voices
file would give it; each gold quotation is matched to the predicted dialogue segment that
overlaps its first sub-span most; a quotation with no overlapping segment counts as wrong.
Then again with no cast given (discovery only), where a prediction is right when the name
found is one of the gold speaker's names.
"""

from __future__ import annotations

import ast
import bisect
import csv
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from audiofic.attribute import attribute  # noqa: E402
from audiofic.characters import Character, discover  # noqa: E402
from audiofic.ingest import normalise_newlines, parse_text  # noqa: E402
from audiofic.model import DIALOGUE  # noqa: E402
from audiofic.segment import detect_quote_style, segment_chapter  # noqa: E402

GENDER = {"M": "male", "F": "female"}
TYPES = ("Explicit", "Anaphoric", "Implicit")
FIRST_PERSON = "TheSignOfTheFour"  # narrated by Dr. Watson


def load_cast(folder: Path) -> tuple[list[Character], dict[str, str]]:
    cast, alias_to_main = [], {}
    with open(folder / "character_info.csv", newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            main = row["Main Name"].strip()
            aliases = sorted({a.strip() for a in ast.literal_eval(row["Aliases"]) if a.strip()} - {main})
            cast.append(Character(main, aliases, GENDER.get(row["Gender"].strip(), "unknown")))
            for name in [main, *aliases]:
                alias_to_main.setdefault(name, main)
    return cast, alias_to_main


def load_quotes(folder: Path) -> list[dict]:
    with open(folder / "quotation_info.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["span"] = ast.literal_eval(row["quoteByteSpans"])[0]
    return rows


def predict(text: str, cast: list[Character] | None):
    work = parse_text(text)
    style = detect_quote_style(text)
    for chapter in work.chapters:
        chapter.segments = segment_chapter(chapter, None, style)
    if cast is None:
        cast = discover(text)
    start = time.perf_counter()
    attribute(work, cast)
    seconds = time.perf_counter() - start
    return [s for c in work.chapters for s in c.segments if s.kind == DIALOGUE], seconds, cast


def score(folder: Path, given: bool) -> dict:
    cast, alias_to_main = load_cast(folder)
    text = normalise_newlines((folder / "novel_text.txt").read_text("utf-8"))
    segments, seconds, used_cast = predict(text, cast if given else None)
    starts = [s.start for s in segments]
    used_names = {c.name: {c.name, *c.aliases} for c in used_cast}
    tally = defaultdict(lambda: [0, 0])
    found = 0
    for quote in load_quotes(folder):
        a, b = quote["span"]
        best, best_overlap = None, 0
        i = max(0, bisect.bisect_right(starts, a) - 3)
        while i < len(segments) and segments[i].start < b:
            overlap = min(b, segments[i].end) - max(a, segments[i].start)
            if overlap > best_overlap:
                best, best_overlap = segments[i], overlap
            i += 1
        gold = alias_to_main.get(quote["speaker"].strip(), quote["speaker"].strip())
        right = False
        if best is not None:
            found += 1
            if given:
                right = best.speaker == gold
            elif best.speaker:
                gold_names = {gold} | {n for n, m in alias_to_main.items() if m == gold}
                right = bool(used_names.get(best.speaker, {best.speaker}) & gold_names)
        for key in (quote["quoteType"], "overall"):
            tally[key][0] += right
            tally[key][1] += 1
    tally["recall"] = [found, tally["overall"][1]]
    return {"tally": tally, "seconds": seconds, "kb": len(text) / 1000}


def report(pdnc: Path, given: bool) -> None:
    title = "cast given (character_info.csv)" if given else "no cast given (discovery only)"
    print(f"\n== {title}")
    print(f"{'novel':<30} {'explicit':>9} {'anaphoric':>10} {'implicit':>9} {'overall':>8} {'recall':>7} {'time':>10}")
    total = defaultdict(lambda: [0, 0])
    overall = {}
    for folder in sorted(p for p in pdnc.iterdir() if (p / "quotation_info.csv").exists()):
        result = score(folder, given)
        tally = result["tally"]
        overall[folder.name] = tally["overall"][0] / tally["overall"][1]
        for key, (right, n) in tally.items():
            total[key][0] += right
            total[key][1] += n
        cells = [f"{tally[k][0] / tally[k][1]:.3f}" if tally[k][1] else "-" for k in (*TYPES, "overall", "recall")]
        timing = f"{result['seconds']:.2f}s/{result['kb']:.0f}KB"
        print(f"{folder.name:<30} {cells[0]:>9} {cells[1]:>10} {cells[2]:>9} {cells[3]:>8} {cells[4]:>7} {timing:>10}")
    cells = [f"{total[k][0] / total[k][1]:.3f}" for k in (*TYPES, "overall", "recall")]
    print(f"{'TOTAL':<30} {cells[0]:>9} {cells[1]:>10} {cells[2]:>9} {cells[3]:>8} {cells[4]:>7}")
    if FIRST_PERSON in overall and len(overall) > 1:
        others = [v for k, v in overall.items() if k != FIRST_PERSON]
        mean = sum(others) / len(others)
        print(f"first-person {FIRST_PERSON}: {overall[FIRST_PERSON]:.3f}, the others' mean {mean:.3f}, "
              f"lag {mean - overall[FIRST_PERSON]:.3f} (target <= 0.10)")


def main() -> None:
    pdnc = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "pdnc-dev"
    report(pdnc, given=True)
    report(pdnc, given=False)


if __name__ == "__main__":
    main()
