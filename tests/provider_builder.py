"""Build one provider the way the factory does, from keyword options, for the provider tests."""

from __future__ import annotations

from typing import Any

from devteam.llm.provider_settings import ProviderSettings
from devteam.llm.registry import build_provider
from devteam.llm.types import ChatProvider


def make_provider(api_type: str, /, **options: Any) -> ChatProvider:
    """`options` are `ProviderSettings` fields; an `api_type` among them (as some tests pass it) is the same one."""
    options.pop("api_type", None)
    return build_provider(ProviderSettings(api_type=api_type, **options))
