"""Where config values come from: the config2.yaml files (YAML with line numbers, MetaGPT keys we skip,
typos, `${VAR}` expansion, deep merge) and the environment variables that override them.

Everything here works on plain dicts before pydantic sees them, because only here do we still know which
file and line (or variable) a value came from — that is what makes the error messages point at the right place.
"""

from __future__ import annotations

import copy
import difflib
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from devteam.config.yaml_file import load_bounded_yaml
from devteam.core.errors import ConfigError

logger = logging.getLogger("devteam.config")

INIT_HINT = "`metagpt --init-config` writes a commented example to ~/.metagpt/config2.yaml"

# Keys MetaGPT users have in their config2.yaml that devteam has no use for: accepted so an existing file
# loads, and named in one warning line each so nobody wonders why their setting did nothing.
METAGPT_TOP_KEYS = frozenset(
    [
        "embedding",
        "proxy",
        "search",
        "browser",
        "mermaid",
        "redis",
        "s3",
        "language",
        "enable_longterm_memory",
        "models",
        "agentops_api_key",
        "omniparse",
        "exp_pool",
        "role_zero",
        "prompt_schema",
        "code_review_k_times",
        "code_validate_k_times",
        "metagpt_tti_url",
        "redis_key",
        "mmdc",
        "puppeteer_config",
        "pyppeteer_executable_path",
        "mermaid_engine",
        "llm_for_researcher_summary",
        "llm_for_researcher_report",
        "project_path",
        "project_name",
        "inc",
        "reqa_file",
        "max_auto_summarize_code",
        "git_reinit",
        "role_custom_configs",
        "extra",
    ]
)
METAGPT_TOP_PREFIXES = ("iflytek_", "azure_tts_")
METAGPT_LLM_KEYS = frozenset(
    [
        "proxy",
        "api_version",
        "pricing_plan",
        "calc_usage",
        "region_name",
        "access_key",
        "secret_key",
        "session_token",
        "endpoint",
        "app_id",
        "api_secret",
        "domain",
        "top_p",
        "top_k",
        "repetition_penalty",
        "presence_penalty",
        "frequency_penalty",
        "best_of",
        "n",
        "logprobs",
        "top_logprobs",
        "use_system_prompt",
        "reasoning",
        "reasoning_max_token",
        "max_budget",
        "compress_type",
    ]
)


@dataclass(frozen=True)
class Section:
    """The keys one mapping may hold: known ones (with their sub-sections) and MetaGPT's that we skip."""

    known: Mapping[str, Section | ListOf | None]
    ignored: frozenset[str] = frozenset()
    ignored_prefixes: tuple[str, ...] = ()

    def ignores(self, key: str) -> bool:
        lowered = key.lower()  # MetaGPT once spelled some of these in capitals (IFLYTEK_APP_ID)
        return lowered in self.ignored or lowered.startswith(self.ignored_prefixes)


@dataclass(frozen=True)
class ListOf:
    """A key whose value is a list of mappings (`roles:`)."""

    item: Section


@dataclass
class ConfigFile:
    """One parsed file: its data and the line of every key, for messages."""

    path: Path
    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)

    def location(self, key: str) -> str:
        """`FILE:LINE` of the key, or of its nearest parent that YAML placed."""
        for candidate in key_and_parents(key):
            if candidate in self.lines:
                return f"{self.path}:{self.lines[candidate]}"
        return str(self.path)

    def where(self, key: str) -> str:
        return f"in {self.location(key)}"

    def rename(self, section: dict[str, Any], prefix: str, old: str, new: str) -> None:
        """Move `old` to `new` inside `section`, keeping the line, so later messages still point at it."""
        section[new] = section.pop(old)
        if f"{prefix}{old}" in self.lines:
            self.lines[f"{prefix}{new}"] = self.lines.pop(f"{prefix}{old}")


def join_key(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def key_and_parents(key: str) -> list[str]:
    """`roles[0].llm.model` → itself, `roles[0].llm`, `roles[0]`, `roles`."""
    found = [key]
    while True:
        cut = max(key.rfind("."), key.rfind("["))
        if cut <= 0:
            return found
        key = key[:cut]
        found.append(key)


def read_config_file(path: Path) -> ConfigFile:
    """Parse one file; a syntax error, an empty file or a top level that is not a mapping is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}; check the path and its permissions") from None
    try:
        node, data = load_bounded_yaml(path, text)
    except yaml.YAMLError as exc:
        raise ConfigError(_syntax_message(path, exc)) from None
    if data is None:
        raise ConfigError(f"config file {path} is empty: it needs at least an llm: block ({INIT_HINT})")
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {path} must be a mapping of keys such as `llm:` at the top level, "
            f"got {describe_type(data)} ({INIT_HINT})"
        )
    lines: dict[str, int] = {}
    if node is not None:
        _record_lines(node, "", lines)
    return ConfigFile(path=path, data=data, lines=lines)


def _syntax_message(path: Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return (
        f"config file {where} is not valid YAML ({problem}); fix that line: indent with spaces, not tabs, "
        "and quote values that contain ': ' or start with a special character"
    )


def _record_lines(node: yaml.Node, prefix: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = join_key(prefix, str(key_node.value))
            lines[key] = key_node.start_mark.line + 1
            _record_lines(value_node, key, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = join_key(prefix, index)
            lines[key] = item.start_mark.line + 1
            _record_lines(item, key, lines)


def describe_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"{value!r}" if isinstance(value, (str, int, float, bool)) else type(value).__name__


def check_keys(file: ConfigFile, section: Section, data: dict[str, Any] | None = None, prefix: str = "") -> None:
    """Drop MetaGPT's keys with a warning; an unknown key or a section of the wrong shape is an error."""
    data = file.data if data is None else data
    for key in list(data):
        name = str(key)
        dotted = join_key(prefix, name)
        if name in section.known:
            _check_value(file, section.known[name], data[key], dotted)
        elif section.ignores(name):
            logger.warning("%s: ignoring %s (a MetaGPT setting devteam does not use)", file.location(dotted), dotted)
            del data[key]
        else:
            raise ConfigError(unknown_key_message(dotted, file.where(dotted), list(section.known)))


def _check_value(file: ConfigFile, shape: Section | ListOf | None, value: Any, dotted: str) -> None:
    if isinstance(shape, Section) and value is not None:
        if not isinstance(value, dict):
            raise ConfigError(
                f"{dotted} {file.where(dotted)} must be a mapping (indented `key: value` lines), "
                f"got {describe_type(value)}"
            )
        check_keys(file, shape, value, dotted)
    elif isinstance(shape, ListOf) and value is not None:
        if not isinstance(value, list):
            raise ConfigError(
                f"{dotted} {file.where(dotted)} must be a list of entries starting with `- `, "
                f"got {describe_type(value)}"
            )
        for index, item in enumerate(value):
            _check_value(file, shape.item, item, join_key(dotted, index))


def unknown_key_message(dotted: str, where: str, candidates: list[str]) -> str:
    """`did you mean` for a typo; the list of valid keys when nothing is close."""
    name = dotted.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    if close:
        fix = f"did you mean `{close[0]}`?"
    else:
        fix = "remove it, or use one of: " + ", ".join(sorted(candidates))
    return f"unknown key {dotted} {where}: {fix}"


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_variables(file: ConfigFile, env: Mapping[str, str]) -> None:
    """Replace `${VAR}` and `${VAR:-default}` in every string value of the file, from `env`."""
    file.data = _expand(file, env, file.data, "")


def _expand(file: ConfigFile, env: Mapping[str, str], value: Any, key: str) -> Any:
    if isinstance(value, dict):
        return {k: _expand(file, env, v, join_key(key, str(k))) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(file, env, v, join_key(key, i)) for i, v in enumerate(value)]
    if isinstance(value, str):
        return _VARIABLE.sub(lambda match: _lookup(match, env, file, key), value)
    return value


def _lookup(match: re.Match[str], env: Mapping[str, str], file: ConfigFile, key: str) -> str:
    name, default = match.group(1), match.group(2)
    if name in env:
        return env[name]
    if default is not None:
        return default
    raise ConfigError(
        f"{key} {file.where(key)} uses ${{{name}}}, but the environment variable {name} is not set; "
        f"set it, or give a default as ${{{name}:-value}}"
    )


class Origins:
    """Where each key's final value came from, after files are merged and the environment applied."""

    def __init__(self) -> None:
        self._where: dict[str, str] = {}
        self._last = "in the config"

    def record(self, file: ConfigFile) -> None:
        """Note every key of `file` as coming from it (a later file's keys replace an earlier one's)."""
        self._last = f"in {file.path}"
        self._walk(file, file.data, "")

    def _walk(self, file: ConfigFile, value: Any, key: str) -> None:
        if value is None:
            return  # a key with no value adds nothing (see deep_merge)
        if key:
            if not isinstance(value, dict):
                self._forget_below(key)
            self._where[key] = file.where(key)
        if isinstance(value, dict):
            for name, item in value.items():
                self._walk(file, item, join_key(key, str(name)))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._walk(file, item, join_key(key, index))

    def _forget_below(self, key: str) -> None:
        for known in [k for k in self._where if k.startswith((key + ".", key + "["))]:
            del self._where[known]

    def set(self, key: str, origin: str) -> None:
        self._where[key] = origin

    def copy(self, source: str, target: str) -> None:
        if source in self._where:
            self._where[target] = self._where[source]

    def exactly(self, key: str) -> str | None:
        """Where this very key was set; None when nobody set it (its value is a default)."""
        return self._where.get(key)

    def recorded(self, key: str) -> str | None:
        """Where the key (or its nearest parent) was set; None for a value nobody set (a default)."""
        for candidate in key_and_parents(key):
            if candidate in self._where:
                return self._where[candidate]
        return None

    def where(self, key: str) -> str:
        """`in FILE:LINE` or `from environment variable X` for the key or its nearest recorded parent."""
        for candidate in key_and_parents(key):
            if candidate in self._where:
                return self._where[candidate]
        return self._last


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Later wins key by key, and nested mappings merge instead of replacing.

    MetaGPT's merge is shallow: a partial `llm:` in ./config/config2.yaml wiped the key set in ~/.metagpt.
    A key with no value (`llm:` alone) adds nothing rather than erasing what an earlier file set.
    """
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- environment --------------------------------------------------------------------------------------------

_RETRY_VARIABLES: dict[str, tuple[str, type]] = {
    "LLM_NUM_RETRIES": ("num_retries", int),
    "LLM_RETRY_MIN_WAIT": ("retry_min_wait", float),
    "LLM_RETRY_MAX_WAIT": ("retry_max_wait", float),
    "LLM_RETRY_MULTIPLIER": ("retry_multiplier", float),
}


def env_overrides(llm: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, tuple[Any, str]]:
    """The `llm` keys the environment sets: key → (value, variable). Empty variables count as unset."""
    found: dict[str, tuple[Any, str]] = {}
    api_type = llm.get("api_type", "openai")
    if api_type in ("openai", "open_llm"):
        _openai_variables(found, llm, env, api_type)
    elif api_type == "ollama":
        _take(found, env, "base_url", "OLLAMA_HOST")
    for variable, (key, kind) in _RETRY_VARIABLES.items():
        text = env.get(variable, "").strip()
        if text:
            found[key] = (_number(variable, text, kind), variable)
    return found


_BASE_URL_VARIABLES = ("OPENAI_BASE_URL", "OPENAI_API_BASE")


def _openai_variables(
    found: dict[str, tuple[Any, str]], llm: Mapping[str, Any], env: Mapping[str, str], api_type: str
) -> None:
    """OpenAI's variables are for OpenAI. They never move a server the config names (a local server is not
    silently redirected to OpenAI) and OpenAI's key is never sent to an open_llm server the config names: for
    open_llm they only fill a base_url the file leaves empty, and then the key the file leaves empty."""
    named_server = bool(llm.get("base_url"))
    if not named_server:
        _take(found, env, "base_url", *_BASE_URL_VARIABLES)
    elif any(env.get(variable, "").strip() for variable in _BASE_URL_VARIABLES):
        logger.info(
            "OPENAI_BASE_URL is set, but the config names its server (%s); the config's is used", llm.get("base_url")
        )
    if api_type == "openai" or ("base_url" in found and not llm.get("api_key")):
        _take(found, env, "api_key", "OPENAI_API_KEY")
    elif env.get("OPENAI_API_KEY", "").strip():
        logger.info(
            "OPENAI_API_KEY is set, but it is OpenAI's key: it is not sent to the open_llm server the config names"
        )


def _take(found: dict[str, tuple[Any, str]], env: Mapping[str, str], key: str, *variables: str) -> None:
    for variable in variables:
        value = env.get(variable, "").strip()
        if value:
            found[key] = (value, variable)
            return


def _number(variable: str, text: str, kind: type) -> int | float:
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        what = "a whole number" if kind is int else "a number (seconds; fractions allowed)"
        raise ConfigError(f"environment variable {variable} must be {what}, got {text!r}; fix or unset it")
    return value
