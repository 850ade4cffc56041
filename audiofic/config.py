"""Voice configuration: TOML layered as shipped defaults < the work's voices file < --voices."""

from __future__ import annotations

import copy
import re
import tomllib
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

from .errors import AudioficError

VOICE_KEYS = {"engine": str, "voice": str, "rate": (int, float), "pitch": (int, float), "volume": (int, float)}
VOICE_RANGES = {"rate": (80, 500), "pitch": (0, 99), "volume": (0.0, 1.0)}
ROLES = ("narrator", "dialogue")
PAUSE_KEYS = ("head", "heading", "turn", "paragraph", "scene", "tail")


@dataclass(frozen=True)
class Voice:
    engine: str
    voice: str
    rate: float
    pitch: float
    volume: float

    def as_dict(self) -> dict:
        return asdict(self)


def split_variant(voice: str) -> tuple[str, str | None]:
    """'gmw/en-us+f3' → ('en-us', 'f3'): the espeak voice id and its variant."""
    base, _, variant = voice.partition("+")
    return base.split("/")[-1], (variant or None)


def default_config_path() -> Path:
    """The shipped voices/default.toml: inside the wheel, or at the repository root."""
    packaged = resources.files("audiofic") / "voices" / "default.toml"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "voices" / "default.toml"


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
    except (OSError, UnicodeDecodeError) as exc:
        raise AudioficError(f"{path}: cannot read it ({exc})") from None


def read_layer(path: Path) -> dict:
    """A voices file as a layer; a top-level `narrator = "Name"` names the narrator character."""
    layer = read_toml(path)
    if isinstance(layer.get("narrator"), str):
        layer["narrator_character"] = layer.pop("narrator")
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


def load_config(*layers: Path | None) -> dict:
    """Shipped defaults with each existing layer on top, validated."""
    config = read_toml(default_config_path())
    for path in layers:
        if path is None:
            continue
        layer = read_layer(path)
        config = merge(config, layer)
    validate(config, "voices configuration")
    return config


def validate(config: dict, where: str) -> None:
    for key, value in config.items():
        if key in ROLES:
            _check_voice_table(value, f"{where}: [{key}]")
        elif key == "pauses":
            _check_table(value, f"{where}: [pauses]")
            for name, ms in value.items():
                if name not in PAUSE_KEYS:
                    raise AudioficError(f"{where}: [pauses] has no key {name!r} (known: {', '.join(PAUSE_KEYS)})")
                if not isinstance(ms, (int, float)) or isinstance(ms, bool) or not 0 <= ms <= 60_000:
                    raise AudioficError(f"{where}: [pauses] {name} must be a number of milliseconds, 0-60000")
        elif key == "characters":
            _check_table(value, f"{where}: [characters]")
        elif key == "narrator_character":
            if not isinstance(value, str) or not value.strip():
                raise AudioficError(f"{where}: narrator must be a character's name")
        elif key == "overrides":
            _check_table(value, f"{where}: [overrides]")
            for pin, speaker in value.items():
                if not re.fullmatch(r"\d+:\d+", pin) or not isinstance(speaker, str):
                    raise AudioficError(f'{where}: [overrides] entries look like "3:12" = "Name" (chapter:segment)')
        else:
            raise AudioficError(f"{where}: unknown table or key {key!r}")


def _check_table(value, where: str) -> None:
    if not isinstance(value, dict):
        raise AudioficError(f"{where} must be a table")


def _check_voice_table(table, where: str) -> None:
    _check_table(table, where)
    for key, value in table.items():
        expected = VOICE_KEYS.get(key)
        if expected is None:
            raise AudioficError(f"{where} has no key {key!r} (known: {', '.join(VOICE_KEYS)})")
        if not isinstance(value, expected) or isinstance(value, bool):
            raise AudioficError(f"{where} {key} has the wrong type: {value!r}")
        if key in VOICE_RANGES:
            low, high = VOICE_RANGES[key]
            if not low <= value <= high:
                raise AudioficError(f"{where} {key} = {value} is outside {low}-{high}")


def role_voice(config: dict, role: str) -> Voice:
    table = config[role]
    missing = [k for k in VOICE_KEYS if k not in table]
    if missing:
        raise AudioficError(f"[{role}] is missing {', '.join(missing)}")
    return Voice(
        engine=table["engine"],
        voice=table["voice"],
        rate=float(table["rate"]),
        pitch=float(table["pitch"]),
        volume=float(table["volume"]),
    )


def overrides(config: dict) -> dict[tuple[int, int], str]:
    """Per-line pins: `[overrides]` "3:12" = "Spike" puts segment 12 of chapter 3 on Spike."""
    pins = {}
    for pin, speaker in (config.get("overrides") or {}).items():
        chapter, segment = pin.split(":")
        pins[(int(chapter), int(segment))] = speaker
    return pins


def pauses(config: dict) -> dict[str, int]:
    table = config.get("pauses", {})
    return {name: int(table.get(name, 0)) for name in PAUSE_KEYS} | {"none": 0}
