"""`api_type` → provider factory: a plain dict, no registration by import side effects.

Every factory takes one `ProviderSettings` and passes each provider the fields it uses, by name; the key of
the dict decides the provider (`settings.api_type` only tells the OpenAI-compatible ones apart).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devteam.core.errors import ConfigError
from devteam.llm.provider_settings import ProviderSettings
from devteam.llm.types import ChatProvider

if TYPE_CHECKING:
    from devteam.llm.providers.completions import CompletionsProvider, Dialect
    from devteam.llm.providers.openai_compat import ApiType

# Each factory imports its provider when it is called: a run loads only the client it talks through (the
# openai SDK alone costs more CPU than everything else a run does before its first request).

Factory = Callable[[ProviderSettings], ChatProvider]


def build_provider(settings: ProviderSettings) -> ChatProvider:
    """The provider for `settings.api_type`."""
    return PROVIDER_FACTORIES[settings.api_type](settings)


def _server(settings: ProviderSettings, *, stream: bool = True) -> dict[str, Any]:
    """What a provider that talks to a server uses."""
    options: dict[str, Any] = {
        "model": settings.model,
        "base_url": settings.base_url,
        "api_key": settings.api_key,
        "timeout": settings.timeout,
        "context_length": settings.context_length,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "seed": settings.seed,
    }
    if stream:
        options["stream"] = settings.stream
    return options


def _openai_compat(api_type: ApiType) -> Factory:
    def build(settings: ProviderSettings) -> ChatProvider:
        if settings.prompt_format:
            # A prompt format means the model wants one string: the server's /v1/completions, not its chat API.
            return _completions("openai", settings)
        from devteam.llm.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(api_type=api_type, **_server(settings))

    return build


def _completions(dialect: Dialect, settings: ProviderSettings) -> CompletionsProvider:
    from devteam.llm.providers.completions import CompletionsProvider
    from devteam.llm.providers.prompt_formats import resolve_prompt_format

    spec = settings.prompt_format or settings.preset_prompt_format
    if not spec:
        raise ConfigError(
            "llm.prompt_format is missing: api_type llama_server sends one prompt string, so it needs the "
            "model's prompt format, e.g. prompt_format: chatml (or a preset that names one)"
        )
    prompt_format = resolve_prompt_format(spec, stop=settings.stop)
    # Completions are asked for whole; the timeout covers a long answer.
    return CompletionsProvider(
        dialect=dialect, prompt_format=prompt_format, format_name=spec, **_server(settings, stream=False)
    )


def _llama_server(settings: ProviderSettings) -> ChatProvider:
    return _completions("llama_server", settings)


def _in_process(settings: ProviderSettings) -> dict[str, Any]:
    """What an in-process model uses: no URL, key or timeout; the prompt format resolved when one is named."""
    from devteam.llm.providers.prompt_formats import resolve_prompt_format

    spec, fallback, stop = settings.prompt_format, settings.preset_prompt_format, settings.stop
    return {
        "model": settings.model,
        "context_length": settings.context_length,
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "seed": settings.seed,
        "prompt_format": resolve_prompt_format(spec, stop=stop) if spec else None,
        "fallback_format": resolve_prompt_format(fallback, stop=stop) if fallback else None,
        "stop": stop,
    }


def _huggingface(settings: ProviderSettings) -> ChatProvider:
    # Imported here: transformers and torch load only when this api_type is chosen.
    from devteam.llm.providers.huggingface import HuggingFaceProvider

    return HuggingFaceProvider(**_in_process(settings))


def _llama_cpp(settings: ProviderSettings) -> ChatProvider:
    from devteam.llm.providers.llama_cpp import LlamaCppProvider

    return LlamaCppProvider(**_in_process(settings))


def _ollama(settings: ProviderSettings) -> ChatProvider:
    from devteam.llm.providers.ollama import OllamaProvider

    return OllamaProvider(**_server(settings))


def _human(settings: ProviderSettings) -> ChatProvider:
    from devteam.llm.providers.human import HumanProvider

    # A person needs no URL, key, timeout or sampling settings.
    return HumanProvider(model=settings.model or "human", context_length=settings.context_length)


def _replay(settings: ProviderSettings) -> ChatProvider:
    from devteam.llm.providers.replay import build_replay

    return build_replay(replay_file=settings.replay_file, model=settings.model, context_length=settings.context_length)


PROVIDER_FACTORIES: dict[str, Factory] = {
    "openai": _openai_compat("openai"),
    "open_llm": _openai_compat("open_llm"),
    "llama_server": _llama_server,
    "ollama": _ollama,
    "huggingface": _huggingface,
    "llama_cpp": _llama_cpp,
    "human": _human,
    "replay": _replay,
}
