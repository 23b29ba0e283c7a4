"""The one mapping from httpx's exceptions to `ProviderError` types.

Every provider that speaks plain HTTP (ollama, the completion endpoints), the server probes, and the openai
provider (whose SDK wraps the httpx error it met as the cause of its own) read a failed request here, so a
refused connection is `ServerUnreachableError` everywhere — recognised by its type, not by a class name —
and a dropped stream is `AnswerCutError` everywhere. `mapped_http_errors` wraps a whole call: the request,
every read of its body, the whole-call deadline and the checks on the answer's shape.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator

import httpx

from devteam.core.errors import (
    AnswerCutError,
    MalformedAnswerError,
    ProviderError,
    ProviderTimeoutError,
    ServerUnreachableError,
)
from devteam.core.redaction import url_without_password
from devteam.llm.wire.server_errors import ANSWER_ERRORS, deadline_error, malformed_error

DEFAULT_HINT = "is the server running?"


def _kind(name: str) -> tuple[type[BaseException], ...]:
    """httpx's exception class `name`, and httpx2's where that is loaded: the openai SDK (3.x) speaks through
    httpx2, a copy of httpx with the same classes. An httpx2 error can only exist once httpx2 is imported,
    so a run that never loads the SDK never pays for importing it here."""
    kinds: list[type[BaseException]] = [getattr(httpx, name)]
    second = sys.modules.get("httpx2")
    if second is not None and isinstance(getattr(second, name, None), type):
        kinds.append(getattr(second, name))
    return tuple(kinds)


def is_http_error(exc: BaseException) -> bool:
    """Whether `exc` is an error of httpx (or httpx2): a request that failed, or a URL it could not use."""
    return isinstance(exc, _kind("HTTPError") + _kind("InvalidURL"))


def transport_error(
    exc: BaseException, *, where: str, root: str, hint: str = DEFAULT_HINT, target: str | None = None
) -> ProviderError:
    """What went wrong on the way to (or back from) the server, as the type the retry policy reads.

    `where` names the server in messages (its description); `target`, what a refused connection was aimed at
    (default `where`)."""
    shown_root = url_without_password(root)
    if isinstance(exc, _kind("ConnectError")):
        return ServerUnreachableError(f"could not connect to {target or where} ({exc}); {hint}")
    if isinstance(exc, _kind("TimeoutException")):
        return ProviderTimeoutError(f"timed out waiting for {where}")
    if isinstance(exc, _kind("ProxyError")):
        return ServerUnreachableError(f"the proxy to {shown_root} refused the connection ({exc})")
    if isinstance(exc, _kind("UnsupportedProtocol") + _kind("InvalidURL")):
        return ProviderError(f"{shown_root} is not a URL a client can call ({exc}); fix llm.base_url")
    if isinstance(exc, _kind("LocalProtocolError")):
        # Our request could not be written (a header value with a newline: an api_key pasted with one).
        return ProviderError(f"the request to {where} could not be sent ({exc}); check llm.api_key and llm.base_url")
    if isinstance(exc, _kind("DecodingError")):
        return MalformedAnswerError(f"{where} answered with a body that cannot be decoded ({exc})")
    if isinstance(exc, _kind("TransportError")):
        return AnswerCutError(f"connection to {where} broke before the answer was complete ({exc!r})")
    return ProviderError(f"{where}: {type(exc).__name__}: {exc}")


@contextlib.contextmanager
def mapped_http_errors(
    *, where: str, root: str, timeout: float, what: str, hint: str = DEFAULT_HINT, target: str | None = None
) -> Iterator[None]:
    """Around one call (the request, every read of its body, the `asyncio.wait_for` that bounds it): what
    httpx, the deadline or the answer checks raise becomes a `ProviderError`. Nothing else is caught — our
    own bug stays a bug."""
    try:
        yield
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise transport_error(exc, where=where, root=root, hint=hint, target=target) from exc
    except (asyncio.TimeoutError, TimeoutError) as exc:  # one class from 3.11 on; two on 3.10
        raise deadline_error(where=where, timeout=timeout) from exc
    except ANSWER_ERRORS as exc:
        raise malformed_error(exc, where=where, what=what) from exc
