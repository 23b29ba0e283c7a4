"""What a provider is built from: one frozen, typed object made once from a config block.

The registry's factories read the fields they need from it, so a provider never receives an untyped bag of
options, and whether a prompt format was written by the user or filled in by a preset is decided here, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devteam.config.settings import LLMConfig

DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class ProviderSettings:
    api_type: str
    model: str = ""
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = DEFAULT_TIMEOUT_S
    stream: bool = True
    context_length: int | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    seed: int | None = None
    replay_file: str | None = None
    # A format written in the config is used as written (open_llm then speaks /v1/completions); one from a
    # preset is only a fallback for endpoints that need a format and models that bring none.
    prompt_format: str | None = None
    preset_prompt_format: str | None = None
    stop: list[str] | None = None

    @classmethod
    def from_config(cls, config: LLMConfig) -> ProviderSettings:
        from_preset = config.filled_by_preset("prompt_format")
        return cls(
            api_type=config.api_type,
            model=config.model or "",
            base_url=config.base_url,
            api_key=config.api_key.get_secret_value() if config.api_key else None,
            timeout=config.timeout,
            stream=config.stream,
            context_length=config.context_length,
            temperature=config.temperature,
            max_tokens=config.max_token,
            seed=config.seed,
            replay_file=config.replay_file,
            prompt_format=None if from_preset else config.prompt_format,
            preset_prompt_format=config.prompt_format if from_preset else None,
            stop=list(config.stop) if config.stop is not None else None,
        )
