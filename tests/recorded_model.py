"""A handler for the scripted OpenAI server that answers like a real model did: from a run record.

Each request is answered with the recorded answer to the same action (and file); when the record holds no
more answers for it, the last one is repeated — what a model at temperature 0 does when asked again.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from fakes import RecordedRequest, Reply, Text, asked

RECORDS = Path(__file__).resolve().parent / "data" / "real_model_records"
_ACTION = re.compile(r"## Action: (\w+)")
_FILE = re.compile(r"## Action: (?:WriteCode|ReviewCode)\n(?:Write|Review) the (?:complete )?file `([^`]+)`")


def first_user(request: RecordedRequest) -> str:
    return asked(request.json["messages"])


def key_of(request: RecordedRequest) -> tuple[str, str]:
    prompt = first_user(request)
    action = _ACTION.search(prompt)
    path = _FILE.search(prompt)
    return (action.group(1) if action else "?", path.group(1) if path else "")


class RecordedModel:
    """Serves `record`'s answers by (action, file); `extra` answers keys the record lacks (e.g. a new file)."""

    def __init__(self, record: str, *, extra: dict[tuple[str, str], str] | None = None) -> None:
        self.answers: dict[tuple[str, str], list[str]] = {}
        for line in (RECORDS / record).read_text(encoding="utf-8").splitlines():
            exchange = json.loads(line)
            self.answers.setdefault((exchange["action"], exchange.get("subject") or ""), []).append(exchange["answer"])
        for key, text in (extra or {}).items():
            self.answers.setdefault(key, []).append(text)
        self.served: dict[tuple[str, str], int] = {}
        self.requests: list[RecordedRequest] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        self.requests.append(request)
        key = key_of(request)
        answers = self.answers.get(key) or self.answers.get((key[0], ""))
        if not answers:
            raise AssertionError(f"the record has no answer for {key}")
        index = self.served.get(key, 0)
        self.served[key] = index + 1
        return Text(answers[min(index, len(answers) - 1)])

    def prompts(self, action: str) -> list[str]:
        """Every user message of every request for `action`, in order."""
        return [
            "\n".join(m["content"] for m in request.json["messages"] if m["role"] == "user")
            for request in self.requests
            if key_of(request)[0] == action
        ]
