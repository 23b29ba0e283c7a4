"""The lines printed before a run starts: which model, where, and where each setting came from.

A user who swaps providers in config2.yaml, or has OPENAI_BASE_URL set in one shell and not another, sees
at once which file, variable or flag decided each value. Never the key; a password in the URL is hidden.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from devteam import __version__
from devteam.config.settings import Config, describe_preset
from devteam.console.ignored_env import ignored_variables
from devteam.core.redaction import url_without_credentials
from devteam.llm.output_levels import LevelCache, default_cache_path, server_key
from devteam.llm.server_speed import SpeedCache, speed_cache_path


def run_header(
    config: Config, *, workspace: Path, workspace_origin: str, env: Mapping[str, str] | None = None
) -> list[str]:
    llm = config.llm
    rows = [
        ("provider", llm.api_type, config.origin("llm.api_type")),
        ("model", llm.model or "-", config.origin("llm.model")),
        ("base_url", url_without_credentials(llm.base_url) or "-", config.origin("llm.base_url")),
        ("output", _output_level(config), config.origin("llm.structured_output")),
        ("repair", "on" if config.repair_llm_output else "off", config.origin("repair_llm_output")),
        ("workspace", str(workspace), workspace_origin),
    ]
    if llm.api_type == "replay":
        rows = [("replay", llm.replay_file or "-", "--replay"), rows[-1]]
    width = max(len(value) for _, value, _ in rows)
    lines = [f"devteam {__version__}"]
    lines += [f"  {name:<10} {value:<{width}}  {_said(origin)}" for name, value, origin in rows]
    preset = describe_preset(llm)
    if preset and llm.api_type != "replay":
        lines.append(f"  {'preset':<10} {preset}")
    expectation = _expectation(config, env if env is not None else os.environ)
    if expectation:
        lines.append(f"  {'expect':<10} {expectation}")
    lines += [f"  {'note':<10} {line}" for line in ignored_variables(config, env if env is not None else os.environ)]
    return lines


def _expectation(config: Config, env: Mapping[str, str]) -> str | None:
    """What `metagpt check` measured on this server and model, when it did: the time a project takes there."""
    llm = config.llm
    if llm.api_type in ("replay", "human"):
        return None
    speed = SpeedCache(speed_cache_path(env, Path.home())).get(server_key(llm.api_type, llm.base_url, llm.model))
    expectation = speed.expectation() if speed is not None else None
    if speed is None or expectation is None:
        return None
    when = f" on {speed.measured_at[:10]}" if speed.measured_at else ""
    return f"{expectation}; measured by metagpt check{when}"


def _output_level(config: Config) -> str:
    llm = config.llm
    setting = llm.structured_output
    if setting != "auto" or llm.api_type in ("replay", "human"):
        return setting
    cached = LevelCache(default_cache_path(os.environ, Path.home())).get(
        server_key(llm.api_type, llm.base_url, llm.model)
    )
    return f"auto (last worked here: {cached})" if cached else "auto (best the server takes)"


def _said(origin: str) -> str:
    return "(default)" if origin == "default" else f"({origin})"
