"""Keep secrets out of the run record: configured API keys and anything shaped like a credential.

The record holds every prompt, answer and log line of a run, and a user may paste it into an issue. Keys
reach it by accident (an idea that quotes one, a server error that echoes a header), so every string is
scrubbed on its way to disk.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from devteam.config import Config

REDACTED = "[REDACTED]"

# Values local servers accept as "a key" because the SDK insists on one; they guard nothing, and replacing
# every "ollama" in a prompt would make the record unreadable.
PLACEHOLDER_KEYS = frozenset(
    {"ollama", "empty", "none", "null", "dummy", "no-key", "nokey", "not-needed", "lm-studio",
     "sk-no-key-required", "placeholder"}
)
# Shorter values are too likely to occur in ordinary text to be replaced everywhere.
MIN_SECRET_LENGTH = 4

_CREDENTIAL = r"[A-Za-z0-9._~+/=-]{8,}"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # `Authorization: Bearer x`, `"authorization": "Basic x"`: the value goes, the header name stays.
    (re.compile(r"""(?i)(authorization["']?\s*[:=]\s*["']?)((?:bearer|basic|token)\s+)?""" + _CREDENTIAL),
     r"\1\2" + REDACTED),
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

    @classmethod
    def for_config(cls, config: Config) -> Redactor:
        """Every api_key the config holds: the base one and each role's."""
        llms = [config.llm, *(config.llm_for(entry.role) for entry in config.roles)]
        keys = [llm.api_key.get_secret_value() for llm in llms if llm.api_key is not None]
        return cls(keys)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
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
