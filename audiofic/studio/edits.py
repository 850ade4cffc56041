"""What the studio changes in a work's own voices.toml, through tomlkit so the user's comments,
order and layout stay, and each change is written atomically. Only data goes in: names, one of
three genders, a pin, and a voice that a built-in engine offers (never a `module:Class`)."""

from __future__ import annotations

from pathlib import Path

import tomlkit

from ..casting.config import validate
from ..engines import builtin_engines
from ..errors import AudioficError
from ..files import atomic_write
from ..story.characters import GENDERS


def load(path: Path) -> tomlkit.TOMLDocument:
    try:
        return tomlkit.parse(path.read_text("utf-8")) if path.exists() else tomlkit.document()
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise AudioficError(f"{path}: cannot read it ({exc})") from None


def save(path: Path, doc: tomlkit.TOMLDocument) -> None:
    """Checked as the CLI will read it, then written under a temporary name and renamed."""
    validate(doc.unwrap(), str(path))
    atomic_write(path, tomlkit.dumps(doc))


def _characters(doc) -> tomlkit.items.Table:
    if "characters" not in doc:
        doc["characters"] = tomlkit.table(is_super_table=True)
    return doc["characters"]


def _entry(doc, name: str) -> tomlkit.items.Table:
    characters = _characters(doc)
    if name not in characters:
        characters[name] = tomlkit.table()
    return characters[name]


def _name(value: str) -> str:
    name = " ".join(str(value).split())
    if not name or len(name) > 80:
        raise AudioficError("a character's name is 1 to 80 characters")
    return name


def set_voice(doc, name: str, engine: str, voice: str, offered: set[tuple[str, str]]) -> None:
    if engine not in builtin_engines() or (engine, voice) not in offered:
        raise AudioficError(f"{engine}/{voice}: not a voice an installed engine offers")
    entry = _entry(doc, _name(name))
    entry["engine"], entry["voice"] = engine, voice


def set_gender(doc, name: str, gender: str) -> None:
    if gender not in GENDERS:
        raise AudioficError(f"gender must be one of {', '.join(GENDERS)}")
    _entry(doc, _name(name))["gender"] = gender


def rename(doc, old: str, new: str) -> None:
    """The old name stays an alias, so the text that calls them so is still heard as them."""
    old, new = _name(old), _name(new)
    characters = _characters(doc)
    if new != old and new in characters:
        raise AudioficError(f"{new!r} is already in the cast: merge them instead")
    entry = characters[old] if old in characters else tomlkit.table()
    aliases = [a for a in entry.get("aliases", []) if a not in (old, new)] + [old]
    entry["aliases"] = aliases
    if old in characters:
        del characters[old]
    characters[new] = entry
    _repin(doc, {old: new})


def merge(doc, name: str, into: str) -> None:
    """`name` becomes one more name of `into`: their aliases join, their pins follow."""
    name, into = _name(name), _name(into)
    if name == into:
        raise AudioficError("choose two different characters to merge")
    characters = _characters(doc)
    gone = characters[name] if name in characters else {}
    target = _entry(doc, into)
    aliases = list(target.get("aliases", []))
    for alias in [name, *gone.get("aliases", [])]:
        if alias not in aliases and alias != into:
            aliases.append(alias)
    target["aliases"] = aliases
    if name in characters:
        del characters[name]
    _repin(doc, {name: into})


def pin(doc, chapter: int, index: int, speaker: str) -> None:
    """One line to one speaker: an [overrides] entry, as a user would write it."""
    if "overrides" not in doc:
        doc["overrides"] = tomlkit.table()
    doc["overrides"][f"{int(chapter)}:{int(index)}"] = _name(speaker)


def _repin(doc, renamed: dict[str, str]) -> None:
    for key, speaker in list(doc.get("overrides", {}).items()):
        if speaker in renamed:
            doc["overrides"][key] = renamed[speaker]
