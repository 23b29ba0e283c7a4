"""Config → `LLM`: the one place where settings become a provider, a retry policy and a price."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from devteam.core.redaction import Redactor, url_without_password
from devteam.llm.client import LLM, ExchangeObserver
from devteam.llm.output_levels import LevelCache, OutputLevels, default_cache_path, server_key
from devteam.llm.pricing import price_for
from devteam.llm.provider_settings import ProviderSettings
from devteam.llm.registry import build_provider
from devteam.llm.retry import RetryPolicy
from devteam.llm.usage import Ledger

if TYPE_CHECKING:
    from devteam.config.settings import LLMConfig


def build_llm(
    config: LLMConfig,
    *,
    ledger: Ledger,
    observers: list[ExchangeObserver] | None = None,
    level_cache: LevelCache | None = None,
    use_cached_level: bool = True,
) -> LLM:
    """The run's `LLM` for one config block. `use_cached_level=False` probes the ladder from the top (check)."""
    provider = build_provider(ProviderSettings.from_config(config))
    cache = level_cache if level_cache is not None else LevelCache(default_cache_path(os.environ, Path.home()))
    levels = OutputLevels(
        provider.capabilities,
        config.structured_output,
        cache=cache,
        # The cache is a file on disk: the key names the server without the password of its URL.
        cache_key=server_key(config.api_type, url_without_password(config.base_url or ""), config.model),
        use_cached=use_cached_level,
    )
    llm = LLM(
        provider,
        api_type=config.api_type,
        retry=RetryPolicy(
            num_retries=config.num_retries,
            min_wait=config.retry_min_wait,
            max_wait=config.retry_max_wait,
            multiplier=config.retry_multiplier,
        ),
        price=price_for(config),
        ledger=ledger,
        structured_output=config.structured_output,
        max_tokens=config.max_token,
        observers=observers,
        levels=levels,
        temperature=config.temperature,
        redactor=Redactor(config.secrets()),
        max_files=config.max_files,
    )
    if not llm.price.known:
        ledger.note_unpriced(llm.model)
    return llm
