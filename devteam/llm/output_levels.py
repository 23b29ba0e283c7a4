"""Which structured-output level to ask a server at: its capabilities as data, stepped down on rejection.

The ladder is json_schema → json_object with the schema → json_object → prompt-only (`OUTPUT_LEVELS`). A
provider says which of these it can send (`Capabilities.output_levels`); under `structured_output: auto` the
run starts at the best of them (or at the level an earlier run found, from `LevelCache`), steps down one level
each time the server rejects the request's format — without spending retries — and remembers the level that
answered, for the rest of the run and, in the cache, for later runs against the same server and model.
A forced setting (`json_schema`, `json_object_schema`, `json_object`) never steps down: a rejection is an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import cast, get_args

from devteam.core.prompting import render_prompt
from devteam.llm.cache_file import JsonCacheFile
from devteam.llm.types import OUTPUT_LEVELS, SCHEMA_LEVELS, Capabilities, ChatMessage, ChatRequest, OutputMode

log = logging.getLogger("devteam.llm")

CACHE_FILE = "structured_output.json"


def default_cache_path(env: Mapping[str, str], home: Path) -> Path:
    """`$XDG_CACHE_HOME/devteam/structured_output.json`, else under `~/.cache` (the XDG default)."""
    root = env.get("XDG_CACHE_HOME") or str(home / ".cache")
    return Path(root) / "devteam" / CACHE_FILE


class LevelCache:
    """A small JSON file: server key → the structured-output level that server honoured last time.

    Losing it costs only a few rejected requests, so a cache that cannot be read or written is logged and
    ignored, never a reason to stop a run.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = JsonCacheFile(path, "the structured-output cache")

    def get(self, key: str) -> OutputMode | None:
        level = self._file.read().get(key)
        return cast(OutputMode, level) if level in get_args(OutputMode) else None

    def put(self, key: str, level: OutputMode) -> None:
        entries = {k: v for k, v in self._file.read().items() if isinstance(v, str)}
        if entries.get(key) == level:
            return
        entries[key] = level
        self._file.write(entries)


def server_key(api_type: str, base_url: str | None, model: str | None) -> str:
    """One server and model: what a cached level is about."""
    return f"{api_type} {base_url or '(default)'} {model or '(default)'}"


class OutputLevels:
    """The ladder of one LLM for one run: the level to ask at now, and how it got there."""

    def __init__(
        self,
        capabilities: Capabilities,
        setting: str,
        *,
        cache: LevelCache | None = None,
        cache_key: str = "",
        use_cached: bool = True,
    ) -> None:
        self.setting = setting
        self._offered = capabilities.output_levels()
        self._cache = cache if setting == "auto" and len(self._offered) > 1 else None
        self._cache_key = cache_key
        self._level: OutputMode = self._start(use_cached)
        self._confirmed: OutputMode | None = None
        # Why the server refused the levels above the current one (the last refusal), for messages.
        self.rejection: str | None = None

    def _start(self, use_cached: bool) -> OutputMode:
        if self.setting == "auto":
            cached = self._cache.get(self._cache_key) if self._cache is not None and use_cached else None
            if cached is not None and cached in self._offered:
                log.info(
                    "structured_output: starting at %s for %s (found by an earlier run; cached in %s)",
                    cached,
                    self._cache_key,
                    self._cache.path if self._cache else "-",
                )
                return cached
            return self._offered[0]
        if self.setting in self._offered:
            return self.setting  # type: ignore[return-value]
        return "prompt"

    @property
    def current(self) -> OutputMode:
        return self._level

    def clamp(self, level: OutputMode) -> OutputMode:
        """A request made before a step down (a re-ask reuses its first request) asks at today's level."""
        if level == "prompt":
            return level
        return level if OUTPUT_LEVELS.index(level) >= OUTPUT_LEVELS.index(self._level) else self._level

    def step_down(self, rejected: OutputMode, reason: str) -> OutputMode | None:
        """The next level after the server rejected `rejected`, or None when this setting may not step down."""
        if self.setting != "auto" or rejected == "prompt":
            return None
        below = [level for level in self._offered if OUTPUT_LEVELS.index(level) > OUTPUT_LEVELS.index(rejected)]
        lower = below[0] if below else "prompt"
        if OUTPUT_LEVELS.index(lower) > OUTPUT_LEVELS.index(self._level):
            self._level = lower
        self.rejection = reason
        return self._level

    def confirm(self, level: OutputMode) -> None:
        """The server answered a request at `level`: keep it for later runs (once per run and level)."""
        if self._cache is None or level != self._level or self._confirmed == level:
            return
        self._confirmed = level
        self._cache.put(self._cache_key, level)


def request_at_level(request: ChatRequest, level: OutputMode) -> ChatRequest:
    """`request` asked at `level`. A prompt written for a server that checks the schema lists the fields only
    (the server knew the shape); asked at a level where nothing checks it, the schema itself goes along."""
    if level == request.output_mode:
        return request
    moved = replace(request, output_mode=level)
    if request.output_mode in SCHEMA_LEVELS and level not in SCHEMA_LEVELS and request.json_schema is not None:
        schema = json.dumps(request.json_schema, indent=1, ensure_ascii=False)
        moved = replace(
            moved,
            messages=[*request.messages, ChatMessage("user", render_prompt("schema_after_fallback.j2", schema=schema))],
        )
    return moved
