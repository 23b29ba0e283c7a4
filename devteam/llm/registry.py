"""`api_type` → provider factory: a plain dict, no registration by import side effects.

Every factory takes the same keyword arguments (model, base_url, api_key, timeout, stream, context_length,
temperature, max_tokens, seed, replay_file; `api_type` is accepted and ignored, the key decides), so the
caller can build any provider from one config block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devteam.llm.human import HumanProvider
from devteam.llm.ollama import OllamaProvider
from devteam.llm.openai_compat import ApiType, OpenAICompatProvider
from devteam.llm.replay import build_replay
from devteam.llm.types import ChatProvider


def _openai_compat(api_type: ApiType) -> Callable[..., OpenAICompatProvider]:
    def build(**options: Any) -> OpenAICompatProvider:
        options.pop("api_type", None)  # the registry key decides
        options.pop("replay_file", None)
        return OpenAICompatProvider(api_type=api_type, **options)

    return build


def _ollama(**options: Any) -> OllamaProvider:
    options.pop("api_type", None)
    options.pop("replay_file", None)
    return OllamaProvider(**options)


def _human(*, model: str = "human", context_length: int | None = None, **_transport: Any) -> HumanProvider:
    # A person needs no URL, key, timeout or sampling settings; accepting them keeps one factory signature.
    return HumanProvider(model=model or "human", context_length=context_length)


PROVIDER_FACTORIES: dict[str, Callable[..., ChatProvider]] = {
    "openai": _openai_compat("openai"),
    "open_llm": _openai_compat("open_llm"),
    "ollama": _ollama,
    "human": _human,
    "replay": build_replay,
}
