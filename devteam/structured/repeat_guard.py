"""Never send the same request twice in one question: at temperature 0 it can only get the same answer.

A re-ask quotes the answer and the problem; when the model repeats itself word for word, the next re-ask
would be byte-identical to the last one. The guard sees that before sending and varies the request one
temperature step, or says that nothing can change any more — the caller then stops instead of paying for it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import replace

from devteam.llm.types import ChatRequest

log = logging.getLogger("devteam.structured")

TEMPERATURE_STEP = 0.3
TEMPERATURE_CEILING = 1.0


def fingerprint(request: ChatRequest) -> str:
    """What the server sees of a request, as a digest (the messages, the format, the sampling)."""
    seen = {
        "messages": [m.as_dict() for m in request.messages],
        "schema": request.json_schema,
        "mode": request.output_mode,
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
    }
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()


class RepeatGuard:
    """The requests of one question (its first ask, re-asks and field follow-ups)."""

    def __init__(self, *, base_temperature: float | None) -> None:
        self.base_temperature = base_temperature or 0.0
        self._sent: set[str] = set()

    def admit(self, request: ChatRequest) -> ChatRequest | None:
        """The request to send: `request` itself, or a warmer copy if it was sent already; None when even the
        warmest copy was sent (nothing can change)."""
        while fingerprint(request) in self._sent:
            current = request.temperature if request.temperature is not None else self.base_temperature
            if current >= TEMPERATURE_CEILING:
                return None
            warmer = round(min(current + TEMPERATURE_STEP, TEMPERATURE_CEILING), 2)
            log.warning(
                "reask_varied: %s %s would repeat an identical request; temperature %g -> %g",
                request.role,
                request.action,
                current,
                warmer,
            )
            request = replace(request, temperature=warmer)
        self._sent.add(fingerprint(request))
        return request
