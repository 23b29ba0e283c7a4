"""What an LLM server's error says, read the same way for every protocol (OpenAI-style, ollama, llama.cpp).

Kept apart from the openai SDK so that the providers that speak plain HTTP (ollama, llama.cpp's completions)
never import it: a run against ollama starts without paying for the SDK.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from devteam.core.errors import (
    HTTPStatusError,
    MalformedAnswerError,
    ProviderError,
    ProviderTimeoutError,
    SchemaRejectedError,
)
from devteam.llm.retry import retry_after_seconds
from devteam.llm.wire.answer_shape import MalformedAnswer, describe_value

# What an error about the constrained output says (llama.cpp: "JSON schema conversion failed", "grammar";
# vLLM: "guided decoding"; LM Studio: "'response_format.type' must be ...").
_SCHEMA_WORDS = ("response_format", "json_schema", "json schema", "json_object", "schema", "grammar", "guided")
# What an error about the prompt's size says; such an error may quote the whole request, response_format too.
_CONTEXT_WORDS = (
    "context length",
    "context_length",
    "context window",
    "maximum context",
    "too many tokens",
    "reduce the length",
    "prompt is too long",
    "input is too long",
)
# Statuses servers answer a response_format they cannot honour with: 400 (OpenAI, LM Studio), 422 (FastAPI
# servers), 500 (llama-cpp-python: "Input should be 'text' or 'json_object'").
_SCHEMA_REJECTION_STATUSES = (400, 422, 500)
_MAX_REASON = 300


def error_reason(body: str) -> str:
    """The human part of an error body, whichever envelope the server uses (see the table in DESIGN.md)."""
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    reason: Any = body
    if isinstance(data, dict):
        reason = data.get("error") or data.get("detail") or data.get("message") or body
        if isinstance(reason, dict):
            reason = reason.get("message") or json.dumps(reason)
    text = " ".join(str(reason).split()) or "(empty body)"
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def mentions_schema(body: str, words: tuple[str, ...] = _SCHEMA_WORDS) -> bool:
    """Whether an error is about the schema-constrained output we asked for (and not about the prompt's size):
    only then does turning that output off have a chance to help."""
    lowered = body.lower()
    if any(word in lowered for word in _CONTEXT_WORDS):
        return False
    return any(word in lowered for word in words)


def is_schema_rejection(status: int | None, body: str, *, field: str = "response_format") -> bool:
    """Whether an error to a structured request means "not this output format" (the ladder steps down).

    The one place that decides it, for every provider: a status servers answer a format they cannot honour
    with (`status` None is an error event inside a 200 stream), and a body about the schema — or about
    `field`, the request field that carried it (ollama's `format`, llama.cpp's `json_schema`). Any other
    400 (a prompt over the context length, a bad parameter) is what it says, not a reason to step down.
    """
    words = _SCHEMA_WORDS if field.lower() in _SCHEMA_WORDS else (*_SCHEMA_WORDS, field.lower())
    return (status is None or status in _SCHEMA_REJECTION_STATUSES) and mentions_schema(body, words)


def status_error(
    status: int,
    body: str,
    *,
    where: str,
    headers: Mapping[str, str] | None = None,
    structured: bool = False,
    field: str = "response_format",
    note: str = "",
) -> ProviderError:
    """An HTTP error answer as its `ProviderError`: a schema rejection (by the one rule above) when the
    request asked for structured output, else an `HTTPStatusError` with the server's `Retry-After`."""
    message = f"HTTP {status} from {where}: {error_reason(body)}{note}"
    if structured and is_schema_rejection(status, body, field=field):
        return SchemaRejectedError(message, status=status, body=body)
    retry_after = retry_after_seconds(headers) if headers is not None else None
    return HTTPStatusError(message, status=status, body=body, retry_after=retry_after)


def deadline_error(*, where: str, timeout: float) -> ProviderError:
    """The whole call took longer than `timeout` (a server trickling its answer, or one that never ends)."""
    return ProviderTimeoutError(f"timed out waiting for {where}: no complete answer within the {timeout:g} s timeout")


# What reading an answer raises when the answer is not what the protocol promises — and nothing else: a
# `ValueError` from our own code is a bug to see, not a server fault to report (or retry).
ANSWER_ERRORS: tuple[type[Exception], ...] = (MalformedAnswer, json.JSONDecodeError, UnicodeDecodeError, RecursionError)


def malformed_error(
    exc: Exception, *, where: str, what: str = "an OpenAI-style chat completion"
) -> MalformedAnswerError:
    """A 200 whose body is not what the protocol promises: HTML, a list, invalid UTF-8, a broken stream line.

    Not transient: a server that answers this way answers so again, and retrying only hides it."""
    if isinstance(exc, RecursionError):
        detail = "JSON nested too deeply to read"
    elif isinstance(exc, UnicodeDecodeError):
        detail = "bytes that are not UTF-8"
    elif isinstance(exc, MalformedAnswer):
        detail = str(exc)
    elif isinstance(exc, json.JSONDecodeError):
        detail = f"text that is not JSON: {describe_value(exc.doc)}"
    else:
        detail = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    return MalformedAnswerError(f"{where} answered with something that is not {what} ({detail})")
