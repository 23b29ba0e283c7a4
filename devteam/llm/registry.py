"""`api_type` → provider factory: a plain dict, no registration by import side effects.

Every factory takes the same keyword arguments (model, base_url, api_key, timeout, stream, context_length,
temperature, max_tokens, seed, replay_file, prompt_format, stop; `api_type` is accepted and ignored, the key
decides), so the caller can build any provider from one config block.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devteam.core.errors import ConfigError
from devteam.llm.types import ChatProvider

if TYPE_CHECKING:
    from devteam.llm.providers.completions import CompletionsProvider, Dialect
    from devteam.llm.providers.human import HumanProvider
    from devteam.llm.providers.ollama import OllamaProvider
    from devteam.llm.providers.openai_compat import ApiType

# Each factory imports its provider when it is called: a run loads only the client it talks through (the
# openai SDK alone costs more CPU than everything else a run does before its first request).


_NOT_FOR_SERVERS = ("api_type", "replay_file", "prompt_format", "preset_prompt_format", "stop")


def _server_options(options: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in options.items() if name not in _NOT_FOR_SERVERS}


def _openai_compat(api_type: ApiType) -> Callable[..., ChatProvider]:
    def build(**options: Any) -> ChatProvider:
        if options.get("prompt_format"):
            # A prompt format means the model wants one string: the server's /v1/completions, not its chat API.
            return _completions("openai", **options)
        from devteam.llm.providers.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(api_type=api_type, **_server_options(options))

    return build


def _completions(dialect: Dialect, **options: Any) -> CompletionsProvider:
    from devteam.llm.providers.completions import CompletionsProvider
    from devteam.llm.providers.prompt_formats import resolve_prompt_format

    spec = options.get("prompt_format") or options.get("preset_prompt_format")
    if not spec:
        raise ConfigError(
            "llm.prompt_format is missing: api_type llama_server sends one prompt string, so it needs the "
            "model's prompt format, e.g. prompt_format: chatml (or a preset that names one)"
        )
    prompt_format = resolve_prompt_format(spec, stop=options.get("stop"))
    server = _server_options(options)
    server.pop("stream", None)  # completions are asked for whole; the timeout covers a long answer
    return CompletionsProvider(dialect=dialect, prompt_format=prompt_format, format_name=spec, **server)


def _llama_server(**options: Any) -> CompletionsProvider:
    return _completions("llama_server", **options)


def _in_process(options: dict[str, Any]) -> dict[str, Any]:
    """What an in-process model uses: no URL, key or timeout; the prompt format resolved when one is named."""
    from devteam.llm.providers.prompt_formats import resolve_prompt_format

    spec, fallback = options.get("prompt_format"), options.get("preset_prompt_format")
    return {
        "model": options["model"],
        "context_length": options.get("context_length"),
        "temperature": options.get("temperature"),
        "max_tokens": options.get("max_tokens"),
        "seed": options.get("seed"),
        "prompt_format": resolve_prompt_format(spec, stop=options.get("stop")) if spec else None,
        "fallback_format": resolve_prompt_format(fallback, stop=options.get("stop")) if fallback else None,
        "stop": options.get("stop"),
    }


def _huggingface(**options: Any) -> ChatProvider:
    # Imported here: transformers and torch load only when this api_type is chosen.
    from devteam.llm.providers.huggingface import HuggingFaceProvider

    return HuggingFaceProvider(**_in_process(options))


def _llama_cpp(**options: Any) -> ChatProvider:
    from devteam.llm.providers.llama_cpp import LlamaCppProvider

    return LlamaCppProvider(**_in_process(options))


def _ollama(**options: Any) -> OllamaProvider:
    from devteam.llm.providers.ollama import OllamaProvider

    return OllamaProvider(**_server_options(options))


def _human(*, model: str = "human", context_length: int | None = None, **_transport: Any) -> HumanProvider:
    from devteam.llm.providers.human import HumanProvider

    # A person needs no URL, key, timeout or sampling settings; accepting them keeps one factory signature.
    return HumanProvider(model=model or "human", context_length=context_length)


def _replay(**options: Any) -> ChatProvider:
    from devteam.llm.providers.replay import build_replay

    return build_replay(**options)


PROVIDER_FACTORIES: dict[str, Callable[..., ChatProvider]] = {
    "openai": _openai_compat("openai"),
    "open_llm": _openai_compat("open_llm"),
    "llama_server": _llama_server,
    "ollama": _ollama,
    "huggingface": _huggingface,
    "llama_cpp": _llama_cpp,
    "human": _human,
    "replay": _replay,
}
