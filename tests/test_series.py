"""Series memory: the same character keeps the same voice across a series's works."""

import tomllib

from conftest import run_cli, script_records

PART = """Title: {title}
Author: Wren
Series: Part {part} of Harbour Tales

Mara came down to the harbour at dawn. She was mending a sail when Tobias arrived. He was late again.

"You're late," said Mara.

"The tide was wrong," said Tobias.

"It always is," said Mara.

"Always," said Tobias. He grinned at her.
{extra}"""

NEWCOMER = """
Ines was waiting on the pier. She waved at them both.

"Is the ferry running?" asked Ines.

"Not today," said Mara.

"Then I'll wait," said Ines.
"""


def cast_of(folder):
    return tomllib.loads((folder / "voices.toml").read_text("utf-8"))


def test_the_second_work_of_a_series_keeps_the_first_works_voices(tmp_path):
    first = tmp_path / "one.txt"
    first.write_text(PART.format(title="The Ferry", part=1, extra=""), "utf-8")
    second = tmp_path / "two.txt"
    second.write_text(PART.format(title="The Storm", part=2, extra=NEWCOMER), "utf-8")
    out = tmp_path / "out"
    for work in (first, second):
        result = run_cli("render", work, "-o", out)
        assert result.returncode == 0, result.stderr
    one, two = cast_of(out / "the-ferry"), cast_of(out / "the-storm")
    assert one["series"] == two["series"] == "Harbour Tales"
    for name in ("Mara", "Tobias"):
        assert (two["characters"][name]["voice"], two["characters"][name]["pitch"]) == \
            (one["characters"][name]["voice"], one["characters"][name]["pitch"])
    series_voices = {entry["voice"] for entry in one["characters"].values()}
    assert two["characters"]["Ines"]["voice"] not in series_voices  # a newcomer gets a voice of her own


def test_cast_from_lends_a_cast_files_voices(tmp_path):
    lent = tmp_path / "lent.toml"
    lent.write_text('[characters.Mara]\nvoice = "en-gb-x-rp+f4"\npitch = 55\n[characters.Tobias]\n'
                    'voice = "en-029+m4"\n', "utf-8")
    work = tmp_path / "w.txt"
    work.write_text(PART.format(title="Alone", part=1, extra="").replace("Series: Part 1 of Harbour Tales\n", ""))
    records = script_records(work, "-o", tmp_path / "out", "--cast-from", lent)
    voices = {r["speaker"]: r["voice"] for r in records if r["kind"] == "dialogue"}
    assert voices == {"Mara": "en-gb-x-rp+f4", "Tobias": "en-029+m4"}
