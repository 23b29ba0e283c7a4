"""Config and LLMConfig: MetaGPT's config2.yaml as users already write it, merged deeply, with environment
overrides and errors that name the file, the key and the fix.

Nothing is loaded at import time (MetaGPT built its config on import, so a bad key broke `import metagpt`):
the CLI calls `load_config` and passes the result down.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from devteam.config.error_lines import describe_validation_error, field_error
from devteam.config.presets import (
    NO_PRESET,
    Preset,
    fill_from_preset,
    find_preset,
    named_preset,
    parse_presets,
    shipped_presets,
)
from devteam.config.sources import (
    INIT_HINT,
    METAGPT_LLM_KEYS,
    METAGPT_TOP_KEYS,
    METAGPT_TOP_PREFIXES,
    ConfigFile,
    ListOf,
    Origins,
    Section,
    check_keys,
    deep_merge,
    env_overrides,
    expand_variables,
    read_config_file,
)
from devteam.config.user_file import write_new_config
from devteam.core.errors import ConfigError
from devteam.core.redaction import url_password, url_without_password

ApiType = Literal["openai", "open_llm", "llama_server", "ollama", "huggingface", "llama_cpp", "human", "replay"]
StructuredOutput = Literal["auto", "json_schema", "json_object_schema", "json_object", "prompt"]

OPENAI_URL = "https://api.openai.com/v1"
OLLAMA_URL = "http://127.0.0.1:11434"
OLLAMA_PORT = 11434
LLAMA_SERVER_URL = "http://127.0.0.1:8080"
# The api types that talk to a model server, with a model name to show in the "model is missing" message.
_EXAMPLE_MODEL = {
    "openai": "gpt-4o-mini",
    "open_llm": "llama2-13b",
    "ollama": "llama2",
    "huggingface": "Qwen/Qwen2.5-0.5B-Instruct",
    "llama_cpp": "./models/qwen2.5-0.5b-instruct-q4_k_m.gguf",
}
_MODEL_MEANING = {"huggingface": "a hub id or a local model folder", "llama_cpp": "the path of a .gguf file"}
_TEMPLATE = ("templates", "config2.example.yaml")


class ConfigNotFoundError(ConfigError):
    """No config file in any of the places we look; `looked_at` lists them so the CLI can add its own hints."""

    def __init__(self, looked_at: list[Path]) -> None:
        self.looked_at = list(looked_at)
        looked = ", ".join(str(path) for path in self.looked_at)
        super().__init__(
            f"no config file found (looked at {looked}); run `metagpt --init-config` to write a commented "
            "example to ~/.metagpt/config2.yaml, or pass --config PATH"
        )


class Pricing(BaseModel):
    """USD per 1M tokens; local models cost 0, which is also what makes a budget meaningless for them."""

    model_config = ConfigDict(extra="forbid")

    prompt: float = Field(0, ge=0)
    completion: float = Field(0, ge=0)
    # A prompt token the provider served from its cache (OpenAI, DeepSeek discount them); unset: `prompt`.
    cached_prompt: float | None = Field(None, ge=0)


class LLMConfig(BaseModel):
    """One model endpoint: MetaGPT's `llm:` keys plus ours (structured_output, retries, pricing, replay)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # MetaGPT defaults to openai too, so a config without api_type means the same thing in both.
    api_type: ApiType = "openai"
    base_url: str | None = None
    api_key: SecretStr | None = None
    model: str | None = None
    temperature: float = Field(0.0, ge=0, le=2)
    max_token: int = Field(4096, ge=1, validation_alias=AliasChoices("max_token", "max_tokens"))
    timeout: float = Field(600, gt=0)
    stream: bool = True
    context_length: int | None = Field(None, ge=1)
    seed: int | None = None
    pricing: Pricing = Field(default_factory=Pricing)  # type: ignore[arg-type]
    structured_output: StructuredOutput = "auto"
    num_retries: int = Field(4, ge=0)
    retry_min_wait: float = Field(5, ge=0)
    retry_max_wait: float = Field(30, ge=0)
    retry_multiplier: float = Field(2, gt=0)
    replay_file: str | None = None
    # A completion endpoint's prompt format (built-in name, module:Class, or a jinja2 chat template file).
    prompt_format: str | None = None
    stop: list[str] | None = None
    # The most files (tests aside) the Architect may plan for this model: a weak model writes one file well and
    # eight badly. None: no limit.
    max_files: int | None = Field(None, ge=1)
    # A model family's settings (presets.yaml, or the config's `presets:`): named here, else matched from
    # `model`; after loading, the name of the preset applied ("none" turns matching off).
    preset: str | None = None
    _preset_filled: tuple[str, ...] = PrivateAttr(default=())

    @field_validator("api_key", "model", "base_url", "replay_file", "prompt_format", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # MetaGPT configs for local servers often carry `api_key: ""`; that means "no key", not an error.
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(text, str) and not text.strip():
            return None
        return value.strip() if isinstance(value, str) else value

    @field_validator("stop", mode="before")
    @classmethod
    def _one_stop_string(cls, value: Any) -> Any:
        # MetaGPT's `stop` is a single string (or null); a list is ours.
        return [value] if isinstance(value, str) else value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        given = value
        if info.data.get("api_type") == "ollama" and "://" not in value:
            value = ollama_host_url(value)
        if not is_http_url(value):
            raise ValueError(
                f"must be an http(s) URL such as http://127.0.0.1:8000/v1, got {url_without_password(value)!r}"
            )
        value = _client_url(value)
        if value != given and "://" in given:
            _notice_once(f"base_url {url_without_password(given)} is used as {url_without_password(value)}")
        return value

    @model_validator(mode="after")
    def _check_endpoint(self) -> LLMConfig:
        if self.api_type in _EXAMPLE_MODEL and not self.model:
            example = _EXAMPLE_MODEL[self.api_type]
            meaning = _MODEL_MEANING.get(self.api_type, "the model name the server serves")
            raise field_error("model", f"is missing: api_type {self.api_type} needs {meaning}, e.g. model: {example}")
        if self.base_url is None and self.api_type == "open_llm":
            raise field_error(
                "base_url",
                "is missing: api_type open_llm needs the server's OpenAI-compatible URL, "
                "e.g. base_url: http://127.0.0.1:8000/v1",
            )
        if self.base_url is None:
            self.base_url = {"openai": OPENAI_URL, "ollama": OLLAMA_URL, "llama_server": LLAMA_SERVER_URL}.get(
                self.api_type
            )
        if self.retry_max_wait < self.retry_min_wait:
            raise field_error(
                "retry_max_wait",
                f"({self.retry_max_wait:g}) must be at least retry_min_wait "
                f"({self.retry_min_wait:g}); raise it or lower retry_min_wait",
            )
        return self

    def filled_by_preset(self, key: str) -> bool:
        """Whether `key` holds a value a preset filled in (not one the user wrote)."""
        return key in self._preset_filled

    def secrets(self) -> list[str]:
        """The secrets this block holds: its api_key and the password of its base_url."""
        found = [self.api_key.get_secret_value()] if self.api_key is not None else []
        password = url_password(self.base_url)
        return [*found, password] if password else found


class PresetEntry(BaseModel):
    """One entry of a config's `presets:` (the same keys as the shipped presets.yaml)."""

    model_config = ConfigDict(extra="forbid")

    match: list[str] | None = None
    context_length: int | None = Field(None, ge=1)
    prompt_format: str | None = None
    stop: list[str] | None = None
    structured_output: StructuredOutput | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    pricing: Pricing | None = None
    max_files: int | None = Field(None, ge=1)

    @field_validator("match", "stop", mode="before")
    @classmethod
    def _one_string(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def describe_preset(llm: LLMConfig) -> str:
    """For `metagpt check`: which preset applied and the keys it filled (the config's own keys won the rest)."""
    if llm.preset is None:
        return f"none matched model {llm.model!r} (add one under presets:, or name one with preset:)"
    if llm.preset.casefold() == NO_PRESET:
        return "none (preset: none)"
    if not llm._preset_filled:
        return f"{llm.preset} (every key it has is set in the config)"
    filled = ", ".join(f"{key} {_shown_value(getattr(llm, key))}" for key in llm._preset_filled)
    return f"{llm.preset} ({filled})"


def _shown_value(value: Any) -> str:
    if isinstance(value, Pricing):
        return f"{value.prompt:g}/{value.completion:g} USD per 1M tokens"
    if isinstance(value, list):
        return "[" + ", ".join(str(item) for item in value) + "]"
    return str(value)


class RoleLLM(BaseModel):
    """A per-role model: a partial `llm:` block deep-merged over the base one (MetaGPT parsed these, unused)."""

    model_config = ConfigDict(extra="forbid")

    role: str = Field(min_length=1)
    llm: dict[str, Any]

    @field_validator("llm")
    @classmethod
    def _hide_key(cls, value: dict[str, Any]) -> dict[str, Any]:
        # The block stays a plain dict until merged, so wrap the key here or repr(config) would show it.
        if isinstance(value.get("api_key"), str):
            return {**value, "api_key": SecretStr(value["api_key"])}
        return value


class Config(BaseModel):
    """The whole configuration; build it with `load_config`, read a role's model with `llm_for`."""

    model_config = ConfigDict(extra="forbid")

    llm: LLMConfig
    # On by default: MetaGPT's off-by-default repair is why small models "fail" there.
    repair_llm_output: bool = True
    workspace: str = "./workspace"
    max_concurrency: int = Field(4, ge=1)
    # Run the generated code's tests and entry point (sandboxed) and hand failures back: `--run-tests`.
    qa: bool = False
    # Where QA runs model code: "auto"/"bubblewrap" (a bwrap box; none here means QA runs nothing), or "none"
    # (no box at all, like --qa-unsafe: the user accepts that generated code runs on this machine).
    qa_sandbox: Literal["auto", "bubblewrap", "none"] = "auto"
    roles: list[RoleLLM] = Field(default_factory=list)
    presets: dict[str, PresetEntry] = Field(default_factory=dict)
    sources: list[Path] = Field(default_factory=list)
    _role_llms: dict[str, LLMConfig] = PrivateAttr(default_factory=dict)
    # Where each value came from (file and line, environment variable, command line), for the run's header.
    _origins: Origins = PrivateAttr(default_factory=Origins)
    # The environment the roles were resolved with, so `with_model` resolves them again the same way.
    _env: Mapping[str, str] = PrivateAttr(default_factory=dict)

    @field_validator("workspace", mode="before")
    @classmethod
    def _metagpt_workspace(cls, value: Any) -> Any:
        # MetaGPT writes `workspace: {path: ..., use_uid: ...}`; only the path means something here.
        if isinstance(value, dict) and "path" in value:
            return value["path"]
        return value

    @model_validator(mode="after")
    def _one_entry_per_role(self) -> Config:
        seen: set[str] = set()
        for entry in self.roles:
            if entry.role.casefold() in seen:
                raise field_error("roles", f"lists role {entry.role} twice; keep one entry per role")
            seen.add(entry.role.casefold())
        return self

    def secrets(self) -> list[str]:
        """Every secret the config holds (the base llm's and each role's key and base_url password): what the
        run's one `Redactor` is built from."""
        llms = [self.llm, *(self.llm_for(entry.role) for entry in self.roles)]
        return [secret for llm in llms for secret in llm.secrets()]

    def llm_for(self, role: str) -> LLMConfig:
        """The LLM for `role` (matched case-insensitively), or the base `llm` when it has no entry."""
        for index, entry in enumerate(self.roles):
            if entry.role.casefold() == role.casefold():
                name = entry.role.casefold()
                if name not in self._role_llms:
                    self._role_llms[name] = resolve_role(self.llm, entry, index=index, presets=self.all_presets())
                return self._role_llms[name]
        return self.llm

    def all_presets(self) -> list[Preset]:
        """The config's own presets first (they win a tie), then the shipped ones."""
        own = parse_presets({name: entry.model_dump(exclude_none=True) for name, entry in self.presets.items()})
        return own + list(shipped_presets())

    def origin(self, key: str) -> str:
        """`in FILE:LINE`, `from environment variable X`, `--model`, ... or `default` for a value nobody set."""
        return self._origins.exactly(key) or "default"

    def note_origins(self, origins: Mapping[str, str]) -> None:
        for key, origin in origins.items():
            self._origins.set(key, origin)

    def with_model(self, model: str) -> Config:
        """This config with the base model replaced (`--model NAME`); roles that name their own model keep it."""
        # The old model's preset values go; the new model's preset (if any) fills what the config leaves out.
        dropped = set(self.llm._preset_filled)
        if self._origins.recorded("llm.preset") is None:
            dropped.add("preset")
        data = {k: v for k, v in self.llm.model_dump(exclude_unset=True).items() if k not in dropped}
        data["model"] = model
        self.note_origins({"llm.model": "from --model"})
        filled = apply_preset(data, self.all_presets(), prefix="llm", where=self._origins.where, origins=self._origins)
        llm = LLMConfig.model_validate(data)
        llm._preset_filled = tuple(filled)
        changed = self.model_copy(update={"llm": llm})
        changed._origins = self._origins
        changed._env = self._env
        # Each role again over the new base, with the environment it was first resolved with (a role on
        # OpenAI keeps the key OPENAI_API_KEY gave it, and the redactor keeps knowing that key).
        changed._role_llms = {
            entry.role.casefold(): resolve_role(
                llm, entry, index=index, env=self._env, origins=self._origins, presets=self.all_presets()
            )
            for index, entry in enumerate(self.roles)
        }
        return changed

    @classmethod
    def from_llm_block(cls, llm: dict[str, Any], origins: Mapping[str, str]) -> Config:
        """A config with no file (the environment's), presets applied as for a file's `llm:` block."""
        tracked = Origins()
        for key, origin in origins.items():
            tracked.set(key, origin)
        data = dict(llm)
        filled = apply_preset(data, list(shipped_presets()), prefix="llm", where=tracked.where, origins=tracked)
        config = _validate({"llm": data}, tracked)
        config.llm._preset_filled = tuple(filled)
        config._origins = tracked
        return config

    def with_replay(self, record: Path) -> Config:
        """This config with every role answered from a recorded run (`--replay`): no server, no key."""
        llm = self.llm.model_dump(exclude={"base_url", "api_key"})
        llm.update(api_type="replay", replay_file=str(record))
        replayed = self.model_copy(update={"llm": LLMConfig.model_validate(llm), "roles": []})
        replayed._role_llms = {}
        return replayed

    def summary(self) -> dict[str, Any]:
        """What the run will use, for display and the run record; never the key."""
        return {
            "provider": self.llm.api_type,
            "model": self.llm.model,
            "base_url": url_without_password(self.llm.base_url) if self.llm.base_url else None,
            "structured_output": self.llm.structured_output,
            "preset": self.llm.preset,
            "repair": self.repair_llm_output,
            "roles": {entry.role: self.llm_for(entry.role).model for entry in self.roles},
            "sources": [str(path) for path in self.sources],
        }


def is_http_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)


# The endpoint paths users paste from server docs; the clients add them themselves.
_ENDPOINT_SUFFIXES = ("/chat/completions", "/completions", "/api/chat", "/api/generate")
_noticed: set[str] = set()


def _client_url(url: str) -> str:
    """What a client should call: a bind-all address means this machine, and a pasted endpoint path is the
    client's to add (`.../v1/chat/completions` would become `.../v1/chat/completions/chat/completions`)."""
    parts = urlsplit(url)
    if parts.hostname == "0.0.0.0":
        url = url.replace("0.0.0.0", "127.0.0.1", 1)
    stripped = url.rstrip("/")
    for suffix in _ENDPOINT_SUFFIXES:
        if stripped.endswith(suffix):
            stripped = stripped[: -len(suffix)]
            if suffix.startswith("/api/"):
                stripped += "/api"
            return stripped
    return url


def _notice_once(text: str) -> None:
    """A value devteam changed is said once per process, not once per role that reuses it."""
    if text not in _noticed:
        _noticed.add(text)
        logging.getLogger("devteam.config").warning("%s", text)


def ollama_host_url(host: str) -> str:
    """`OLLAMA_HOST` style `host[:port]` → a URL. That variable is the server's bind address, so 0.0.0.0
    (the seed's example) means "this machine" to a client."""
    name, _, port = host.partition(":")
    if name in ("", "0.0.0.0"):
        name = "127.0.0.1"
    return f"http://{name}:{port or OLLAMA_PORT}"


# --- per-role models ----------------------------------------------------------------------------------------


def resolve_role(
    base: LLMConfig,
    entry: RoleLLM,
    *,
    index: int,
    env: Mapping[str, str] | None = None,
    origins: Origins | None = None,
    presets: list[Preset] | None = None,
) -> LLMConfig:
    """The role's block merged over the base, then the environment and its model's preset, validated."""
    prefix = f"roles[{index}].llm"
    data = merge_role_llm(base, entry.llm)
    for key, (value, variable) in env_overrides(data, env or {}).items():
        data[key] = value
        if origins is not None:
            origins.set(f"{prefix}.{key}", f"from environment variable {variable}")
    where = origins.where if origins is not None else (lambda key: "in the roles list")
    filled = apply_preset(
        data, presets if presets is not None else list(shipped_presets()), prefix=prefix, where=where, origins=origins
    )
    try:
        resolved = LLMConfig.model_validate(data)
    except ValidationError as exc:
        message = describe_validation_error(exc, where=where, prefix=prefix, label=f" (role {entry.role})")
        raise ConfigError(message) from None
    resolved._preset_filled = tuple(filled)
    return resolved


def merge_role_llm(base: LLMConfig, partial: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge a role's partial block over the base `llm`.

    A role on another server does not inherit the base's base_url (it gets its own type's default) nor its
    api_key, which would otherwise be sent to a server it was never meant for.
    """
    block = dict(partial)
    if "max_tokens" in block:
        block.setdefault("max_token", block.pop("max_tokens"))
    # Only what the base config set is inherited: defaults stay defaults, so the role's own preset can fill them.
    inherited = base.model_dump(include=base.model_fields_set)
    moves = block.get("api_type", base.api_type) != base.api_type
    if moves or block.get("base_url") not in (None, base.base_url):
        inherited.pop("base_url", None)
        inherited.pop("api_key", None)
    if block.get("model") not in (None, base.model) and "preset" not in block:
        # Another model is another family: the base's preset values are not the role's.
        for key in (*base._preset_filled, "preset"):
            inherited.pop(key, None)
    return deep_merge(inherited, block)


def apply_preset(
    block: dict[str, Any], presets: list[Preset], *, prefix: str, where: Any, origins: Origins | None
) -> list[str]:
    """Fill the keys `block` leaves out from its named or matched preset; return the keys filled."""
    wanted = block.get("preset")
    if isinstance(wanted, str) and wanted.strip().casefold() == NO_PRESET:
        return []
    if isinstance(wanted, str) and wanted.strip():
        preset = named_preset(wanted.strip(), presets)
        if preset is None:
            known = ", ".join(sorted({p.name for p in presets}))
            raise ConfigError(
                f"{prefix}.preset {where(prefix + '.preset')} names {wanted!r}, which is not a preset; use one "
                f"of {known}, add it under presets:, or write preset: none"
            )
    else:
        model = block.get("model")
        preset = find_preset(model if isinstance(model, str) else None, presets)
    if preset is None:
        return []
    filled = fill_from_preset(block, preset)
    block["preset"] = preset.name
    if origins is not None:
        for key in filled:
            origins.set(f"{prefix}.{key}", f"from preset {preset.name}")
    return filled


# --- loading ------------------------------------------------------------------------------------------------


def _llm_section(*extra: str) -> Section:
    known: dict[str, Section | ListOf | None] = {name: None for name in LLMConfig.model_fields}
    known.update({name: None for name in ("max_tokens", *extra)})
    known["pricing"] = Section({name: None for name in Pricing.model_fields})
    return Section(known, ignored=METAGPT_LLM_KEYS)


# repair_llm_output is accepted inside the base llm: block because that is where MetaGPT users put it.
_FILE_SHAPE = Section(
    {
        "llm": _llm_section("repair_llm_output"),
        "repair_llm_output": None,
        "workspace": None,
        "max_concurrency": None,
        "qa": None,
        "qa_sandbox": None,
        "roles": ListOf(Section({"role": None, "llm": _llm_section()})),
        "presets": None,
    },
    ignored=METAGPT_TOP_KEYS,
    ignored_prefixes=METAGPT_TOP_PREFIXES,
)


def config_paths(explicit: Path | None, *, cwd: Path, home: Path) -> list[Path]:
    """The files to merge, in order: ~/.metagpt/config2.yaml, ./config/config2.yaml, then --config."""
    candidates = [home / ".metagpt" / "config2.yaml", cwd / "config" / "config2.yaml"]
    found = [path for path in candidates if path.is_file()]
    if explicit is not None:
        path = _absolute(explicit, cwd=cwd, home=home)
        if not path.is_file():
            state = "is not a file" if path.exists() else "does not exist"
            raise ConfigError(f"--config {path} {state}; pass the path of a config2.yaml ({INIT_HINT})")
        found = [known for known in found if known.resolve() != path.resolve()] + [path]
    if not found:
        raise ConfigNotFoundError(candidates)
    return found


def _absolute(path: Path, *, cwd: Path, home: Path) -> Path:
    if path.parts and path.parts[0] == "~":
        return home.joinpath(*path.parts[1:])
    return path if path.is_absolute() else cwd / path


def load_config(explicit: Path | None = None, *, cwd: Path, home: Path, env: Mapping[str, str]) -> Config:
    """Merge every config file found (later wins, deeply), expand `${VAR}`, apply the environment, validate.

    Raises ConfigNotFoundError when there is no file at all, ConfigError for anything wrong in one.
    """
    paths = config_paths(explicit, cwd=cwd, home=home)
    origins = Origins()
    merged: dict[str, Any] = {}
    files = [_prepare(read_config_file(path), env) for path in paths]
    for file in files:
        origins.record(file)
        merged = deep_merge(merged, file.data)
    base = _base_llm(merged, files)
    _move_repair_flag(merged, origins)
    for key, (value, variable) in env_overrides(base, env).items():
        base[key] = value
        origins.set(f"llm.{key}", f"from environment variable {variable}")
    presets = _own_presets(merged, origins) + list(shipped_presets())
    filled = apply_preset(base, presets, prefix="llm", where=origins.where, origins=origins)
    config = _validate({**merged, "sources": paths}, origins)
    config.llm._preset_filled = tuple(filled)
    config._origins = origins
    config._env = env
    for index, entry in enumerate(config.roles):
        config._role_llms[entry.role.casefold()] = resolve_role(
            config.llm, entry, index=index, env=env, origins=origins, presets=presets
        )
    return config


def _own_presets(merged: dict[str, Any], origins: Origins) -> list[Preset]:
    """The config's `presets:`, checked before they fill anything (a bad entry names its file and line)."""
    own = merged.get("presets") or {}
    if not isinstance(own, dict):
        raise ConfigError(f"presets {origins.where('presets')} must be a mapping of preset names to settings")
    entries = {}
    for name, entry in own.items():
        try:
            entries[str(name)] = PresetEntry.model_validate(entry or {}).model_dump(exclude_none=True)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, where=origins.where, prefix=f"presets.{name}")) from None
    return parse_presets(entries)


def _prepare(file: ConfigFile, env: Mapping[str, str]) -> ConfigFile:
    """Check the keys (dropping MetaGPT's we skip), expand `${VAR}`, and spell max_tokens as max_token."""
    check_keys(file, _FILE_SHAPE)
    expand_variables(file, env)
    blocks = [("llm", file.data.get("llm"))]
    blocks += [(f"roles[{i}].llm", role.get("llm")) for i, role in enumerate(file.data.get("roles") or [])]
    for prefix, block in blocks:
        if isinstance(block, dict) and "max_tokens" in block:
            if "max_token" in block:
                where = file.where(f"{prefix}.max_tokens")
                raise ConfigError(f"{prefix}.max_tokens {where} repeats {prefix}.max_token; keep one of them")
            file.rename(block, f"{prefix}.", "max_tokens", "max_token")
    return file


def _base_llm(merged: dict[str, Any], files: list[ConfigFile]) -> dict[str, Any]:
    llm = merged.get("llm")
    if llm:
        return llm
    example = "e.g. llm: {api_type: ollama, base_url: 'http://127.0.0.1:11434/api', model: llama2}"
    for file in reversed(files):
        if "llm" in file.data:
            raise ConfigError(f"llm {file.where('llm')} is empty: give at least api_type and model, {example}")
    names = ", ".join(str(file.path) for file in files)
    raise ConfigError(f"llm is missing in {names}: add an llm: block, {example} ({INIT_HINT})")


def _move_repair_flag(merged: dict[str, Any], origins: Origins) -> None:
    """MetaGPT reads repair_llm_output only at the top level; users put it under llm:. Accept both."""
    if "repair_llm_output" in merged["llm"]:
        nested = merged["llm"].pop("repair_llm_output")
        if "repair_llm_output" not in merged:  # the top-level key wins when both are given
            merged["repair_llm_output"] = nested
            origins.copy("llm.repair_llm_output", "repair_llm_output")


def _validate(data: dict[str, Any], origins: Origins) -> Config:
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, where=origins.where)) from None


# --- the example file ---------------------------------------------------------------------------------------


def template_text() -> str:
    """The commented example config shipped with the package (also at config/config2.example.yaml)."""
    return resources.files("devteam").joinpath("/".join(_TEMPLATE)).read_text(encoding="utf-8")


def init_config(home: Path) -> Path:
    """Write ~/.metagpt/config2.yaml from the template; an existing file is never overwritten."""
    data = resources.files("devteam").joinpath("/".join(_TEMPLATE)).read_bytes()
    return write_new_config(home / ".metagpt" / "config2.yaml", data)
