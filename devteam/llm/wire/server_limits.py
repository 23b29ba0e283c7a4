"""What a server says about its model's limits: the context window and token counts, read from its own answers.

Pure functions over the decoded JSON of each server's endpoint; the providers do the HTTP and call these.
Every function returns None for an answer that does not carry what it looks for (another server's shape,
an old version), so a provider can try the next source instead of failing.

| server              | window                                                   | token count                     |
|---------------------|----------------------------------------------------------|---------------------------------|
| llama.cpp server    | `GET /props`: `default_generation_settings.n_ctx`, `n_ctx` | `POST /tokenize {"content"}` → tokens |
| vLLM                | `GET /v1/models`: `data[].max_model_len`                  | `POST /tokenize {"prompt"}` → count   |
| llama-cpp-python    | —                                                        | `POST /extras/tokenize/count {"input"}` → count |
| ollama              | `POST /api/show`: `model_info["<arch>.context_length"]`, `num_ctx` in `parameters` | — |
"""

from __future__ import annotations

from typing import Any


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and value > 0:
        return value
    if isinstance(value, str) and value.strip().isdigit() and int(value) > 0:
        return int(value)
    return None


def window_from_llamacpp_props(props: Any) -> int | None:
    """llama.cpp's `/props`: the per-slot window of the running server (what a prompt must fit in)."""
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    if isinstance(settings, dict) and _positive_int(settings.get("n_ctx")):
        return _positive_int(settings.get("n_ctx"))
    return _positive_int(props.get("n_ctx"))


def slots_from_llamacpp_props(props: Any) -> int | None:
    """llama.cpp's `/props`: `total_slots`, the requests it serves at once (1 unless started with `--parallel`)."""
    return _positive_int(props.get("total_slots")) if isinstance(props, dict) else None


def window_from_model_list(models: Any, model: str) -> int | None:
    """vLLM's `/v1/models`: `max_model_len` of the served model (the only one, when the name does not match)."""
    if not isinstance(models, dict) or not isinstance(models.get("data"), list):
        return None
    entries = [entry for entry in models["data"] if isinstance(entry, dict)]
    named = [entry for entry in entries if entry.get("id") == model]
    chosen = named or (entries if len(entries) == 1 else [])
    return _positive_int(chosen[0].get("max_model_len")) if chosen else None


def window_from_ollama_show(show: Any) -> int | None:
    """ollama's `/api/show`: the model's trained window (`<architecture>.context_length` in `model_info`), else
    the `num_ctx` its Modelfile sets."""
    if not isinstance(show, dict):
        return None
    info = show.get("model_info")
    if isinstance(info, dict):
        for key, value in info.items():
            if key.endswith(".context_length") and _positive_int(value):
                return _positive_int(value)
    parameters = show.get("parameters")
    if isinstance(parameters, str):
        for line in parameters.splitlines():
            name, _, value = line.strip().partition(" ")
            if name == "num_ctx" and _positive_int(value.strip()):
                return _positive_int(value.strip())
    return None


def tokenize_body(text: str, model: str) -> dict[str, Any]:
    """One body for both `/tokenize` dialects: llama.cpp reads `content`, vLLM `model` and `prompt`."""
    return {"content": text, "prompt": text, "model": model, "add_special_tokens": False}


def count_from_tokenize(answer: Any) -> int | None:
    """The token count in a tokenize answer: `count` (vLLM, llama-cpp-python) or the length of `tokens`."""
    if not isinstance(answer, dict):
        return None
    if isinstance(answer.get("count"), int) and not isinstance(answer.get("count"), bool):
        return answer["count"] if answer["count"] >= 0 else None
    tokens = answer.get("tokens")
    return len(tokens) if isinstance(tokens, list) else None
