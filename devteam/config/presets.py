"""Model presets (seed 004's predefined configs): what works for a model family, as shipped data.

`presets.yaml` holds the families; a user's `presets:` block in config2.yaml adds or replaces entries. A preset
fills only the `llm:` keys the config leaves out, so anything written in the config wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

# The llm: keys a preset may fill; endpoint keys (api_type, base_url, api_key, model) are never a preset's.
PRESET_KEYS = ("context_length", "prompt_format", "stop", "structured_output", "temperature", "pricing", "max_files")
NO_PRESET = "none"


@dataclass(frozen=True)
class Preset:
    name: str
    match: tuple[str, ...]
    values: Mapping[str, Any]


@lru_cache(maxsize=1)
def shipped_presets() -> tuple[Preset, ...]:
    text = resources.files("devteam.config").joinpath("presets.yaml").read_text(encoding="utf-8")
    return tuple(parse_presets(yaml.safe_load(text)))


def parse_presets(data: Mapping[str, Any]) -> list[Preset]:
    """Entries as written in presets.yaml or a config's `presets:` (already checked by the config's shape)."""
    presets = []
    for name, entry in data.items():
        entry = dict(entry or {})
        match = entry.pop("match", None) or [name]
        patterns = (match,) if isinstance(match, str) else tuple(str(pattern) for pattern in match)
        presets.append(Preset(name=str(name), match=patterns, values=entry))
    return presets


def model_key(model: str) -> str:
    """The part of a model name presets match on: `Qwen/Qwen2.5-7B-Instruct` → `qwen2.5-7b-instruct`,
    `./models/llama-3.1-8b.Q4_K_M.gguf` → `llama-3.1-8b.q4_k_m`."""
    name = model.strip().replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()
    return name[: -len(".gguf")] if name.endswith(".gguf") else name


def find_preset(model: str | None, presets: list[Preset]) -> Preset | None:
    """The preset whose longest pattern matches the model; on a tie, the earlier one (users' come first)."""
    if not model:
        return None
    key = model_key(model)
    best: tuple[int, Preset] | None = None
    for preset in presets:
        for pattern in preset.match:
            if fnmatchcase(key, pattern.lower()):
                weight = len(pattern.replace("*", "").replace("?", ""))
                if best is None or weight > best[0]:
                    best = (weight, preset)
    return best[1] if best else None


def named_preset(name: str, presets: list[Preset]) -> Preset | None:
    return next((preset for preset in presets if preset.name.casefold() == name.casefold()), None)


def fill_from_preset(block: dict[str, Any], preset: Preset) -> list[str]:
    """Put the preset's values into the keys `block` leaves out; return the keys filled."""
    filled = []
    for key in PRESET_KEYS:
        if key in preset.values and block.get(key) is None:
            block[key] = preset.values[key]
            filled.append(key)
    return filled
