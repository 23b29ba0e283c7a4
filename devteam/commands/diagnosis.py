"""The most likely fix for an LLM failure, in one or two sentences: shared by `metagpt check` and a failed run."""

from __future__ import annotations

from urllib.parse import urlsplit

from devteam.config.settings import LLMConfig
from devteam.core.errors import DevteamError, ProviderError, StructuredOutputError
from devteam.core.redaction import url_without_password


def hint_for(error: DevteamError, llm: LLMConfig) -> str:
    status = getattr(error, "status", None)
    base_url = url_without_password(llm.base_url) if llm.base_url else "the default URL"
    if isinstance(error, StructuredOutputError):
        return (
            "The server answered, but not with usable JSON even after re-asking. Try a larger or "
            "instruction-tuned model, keep repair_llm_output: true, or set structured_output: json_schema "
            "if the server supports constrained output."
        )
    if status in (401, 403):
        return "The server refused the API key: set llm.api_key (or OPENAI_API_KEY) to a valid key."
    if status == 404:
        return _not_found_hint(llm, base_url)
    if isinstance(error, ProviderError) and error.unreachable:
        return (
            f"Nothing accepts connections at {base_url}: start the server (ollama serve, vllm serve ..., "
            "llama-server ..., python -m llama_cpp.server ...) or fix llm.base_url in config2.yaml."
        )
    if isinstance(error, ProviderError) and status is None:
        return (
            f"Nothing usable answered at {base_url}. Is the server running and reachable from here "
            "(ollama serve, vllm ..., llama-server ...)? Check llm.base_url and llm.timeout."
        )
    return "See the server's log for details."


def _not_found_hint(llm: LLMConfig, base_url: str) -> str:
    if llm.api_type == "ollama":
        return f"ollama at {base_url} does not have model {llm.model!r}: ollama pull {llm.model}"
    path = urlsplit(llm.base_url or "").path.rstrip("/")
    if llm.base_url and not path.endswith("/v1"):
        fixed = llm.base_url.rstrip("/") + "/v1"
        return (
            f"The URL path is wrong: OpenAI-compatible servers answer under /v1, and {base_url} has no /v1. "
            f"Set llm.base_url: {fixed!r} in config2.yaml."
        )
    return (
        f"The server at {base_url} does not serve model {llm.model!r} (or the URL path is wrong): "
        "run `metagpt check` to list the models it has, and set llm.model to one of them."
    )
