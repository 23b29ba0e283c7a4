"""Small side questions to a model server (its window, a token count): JSON in, JSON out, never an exception.

A probe that fails — a 404 from a server without that endpoint, a refused connection, an answer that is not
JSON — answers None, and the caller falls back (to the next endpoint, or to an estimate). The chat call
itself reports real connection faults; a probe must never be the reason a run stops.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from devteam.core.redaction import url_without_password
from devteam.llm.wire.http_errors import transport_error
from devteam.llm.wire.http_options import tls_options
from devteam.llm.wire.server_errors import ANSWER_ERRORS

log = logging.getLogger("devteam.llm")

PROBE_TIMEOUT = 10.0


class ServerProbe:
    """GET/POST JSON with a short timeout; owns its `httpx.AsyncClient` unless one is lent to it."""

    def __init__(
        self, *, headers: dict[str, str] | None = None, client: httpx.AsyncClient | None = None, url: str = ""
    ) -> None:
        """`url`: where the probes go, for the client's TLS options (see `http_options`)."""
        self._headers = headers or {}
        self._url = url
        self._client = client
        self._owns_client = client is None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(PROBE_TIMEOUT), headers=self._headers, **tls_options(self._url)
            )
        return self._client

    async def get_json(self, url: str) -> Any:
        return await self._request("GET", url, None)

    async def post_json(self, url: str, body: dict[str, Any]) -> Any:
        return await self._request("POST", url, body)

    async def _request(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        try:
            response = await self._http().request(method, url, json=body, timeout=PROBE_TIMEOUT)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # Read by the mapping the providers share, so the log says what the chat call would have said.
            failure = transport_error(exc, where=f"{method} {url_without_password(url)}", root=url)
            log.debug("probe failed: %s", failure)
            return None
        if response.status_code != 200:
            log.debug("probe %s %s answered HTTP %s", method, url, response.status_code)
            return None
        try:
            return json.loads(response.content.decode("utf-8"))
        except ANSWER_ERRORS:
            return None

    async def aclose(self) -> None:
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None
