"""Keep secrets out of every output: configured API keys, passwords inside a base_url, and anything shaped
like a credential.

The record holds every prompt, answer and log line of a run, and a user may paste it into an issue; the
console, the generated files and the git history are published even more readily. Keys reach them by
accident (an idea that quotes one, a server that echoes a header into an error or an answer), so what a
server sends is scrubbed of the known secrets as it arrives (`devteam.llm.client`), and every string on its
way to the record or the console is scrubbed again.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

REDACTED = "[REDACTED]"

# Values local servers accept as "a key" because the SDK insists on one; they guard nothing, and replacing
# every "ollama" in a prompt would make the record unreadable.
PLACEHOLDER_KEYS = frozenset(
    {
        "ollama",
        "empty",
        "none",
        "null",
        "dummy",
        "no-key",
        "nokey",
        "not-needed",
        "lm-studio",
        "sk-no-key-required",
        "placeholder",
    }
)
# Shorter values are too likely to occur in ordinary text to be replaced everywhere.
MIN_SECRET_LENGTH = 4

_CREDENTIAL = r"[A-Za-z0-9._~+/=-]{8,}"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # `Authorization: Bearer x`, `"authorization": "Basic x"`: the value goes, the header name stays.
    (
        re.compile(r"""(?i)(authorization["']?\s*[:=]\s*["']?)((?:bearer|basic|token)\s+)?""" + _CREDENTIAL),
        r"\1\2" + REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer\s+)" + _CREDENTIAL), r"\1" + REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), REDACTED),
    # Credentials inside a URL: http://user:password@host
    (re.compile(r"(?i)\b(https?://)[^/\s:@]+:[^/\s@]+@"), r"\1" + REDACTED + "@"),
)


class Redactor:
    """Replaces known secret values, then credential-shaped text, in strings and in nested JSON data."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        usable = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH and s.casefold() not in PLACEHOLDER_KEYS}
        # Longest first, so a key that contains another key is replaced whole.
        self.secrets = sorted(usable, key=len, reverse=True)

    def secrets_only(self, value: str) -> str:
        """Only the known secrets replaced: for a model's answer, where credential-*shaped* text (a placeholder
        `sk-your-key-here` in generated code) is content, not a leak."""
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return value

    def text(self, value: str) -> str:
        value = self.secrets_only(value)
        for pattern, replacement in _PATTERNS:
            value = pattern.sub(replacement, value)
        return value

    def data(self, value: Any) -> Any:
        """The same structure with every string (keys included) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.data(item) for item in value]
        return value


def url_password(url: str | None) -> str | None:
    try:
        return urlsplit(url).password if url else None
    except ValueError:
        return None


def url_without_password(url: str) -> str:
    """`http://user:secret@host/v1` → `http://user:[REDACTED]@host/v1`, for anything shown or recorded."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:{REDACTED}@{netloc[1]}"))


def url_without_credentials(url: str | None) -> str | None:
    """The URL without a user name or password (`https://user:secret@host/v1` → `https://host/v1`), for the
    run's header, where the server is named, not its login."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        if parts.username is None and parts.password is None:
            return url
        host = parts.hostname or ""
        host = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return url_without_password(url)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class RedactingFilter(logging.Filter):
    """Server errors can echo a request's headers or the key; the console gets the record's scrubbing."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.redactor.text(record.getMessage()), None
        return True


def redact_console(redactor: Redactor, logger_name: str = "devteam") -> None:
    """Scrub every line the console handlers of `logger_name` print."""
    for handler in logging.getLogger(logger_name).handlers:
        handler.addFilter(RedactingFilter(redactor))
