"""httpx client options by URL scheme: a plain-http server gets no TLS set-up.

Loading the certificate bundle for a verified TLS context costs about 30 ms of CPU per client, and a run
builds two or three clients before its first request — for a local ollama, llama.cpp or vLLM at http://,
which never uses TLS. Redirects are not followed there either: one to https would otherwise go unverified.
https URLs keep httpx's verified defaults.
"""

from __future__ import annotations

from typing import Any


def tls_options(url: str) -> dict[str, Any]:
    if url.strip().lower().startswith("http://"):
        return {"verify": False, "follow_redirects": False}
    return {}
