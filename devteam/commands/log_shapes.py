"""What `metagpt logs` reads from a run record, checked before anything is shown.

A record is a file in a project folder, and a project folder may come from anywhere (a shared repository, a
generated program that rewrote its own `.devteam/`). A count that is a string, a list where the messages go or
a summary of the wrong shape must end as one clear sentence naming the file and the field — not as a
traceback from the middle of the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from devteam.core.errors import ConfigError
from devteam.llm.wire.answer_shape import describe_value

NONE = type(None)
NUMBER = (int, float)


@dataclass(frozen=True)
class ListOf:
    item: Kind


@dataclass(frozen=True)
class MapOf:
    """An object with text keys and values of one kind (the summary's `repairs`: kind → count)."""

    value: Kind


Kind: TypeAlias = type | tuple["Kind", ...] | ListOf | MapOf | Mapping[str, "Kind"]

_MESSAGE: Mapping[str, Kind] = {"role": str, "content": str}

EXCHANGE: Mapping[str, Kind] = {
    "seq": int,
    "run": (str, NONE),
    "role": str,
    "action": str,
    "subject": (str, NONE),
    "provider": (str, NONE),
    "model": (str, NONE),
    "output_mode": (str, NONE),
    "answer": str,
    "reasoning": (str, NONE),
    "finish_reason": (str, NONE),
    "outcome": (str, NONE),
    "prompt_tokens": int,
    "completion_tokens": int,
    "retries": int,
    "usage_estimated": (bool, NONE),
    "cost": (*NUMBER, NONE),
    "latency_s": (*NUMBER, NONE),
    "started_at": (*NUMBER, NONE),
    "cached_tokens": (*NUMBER, NONE),
    "first_token_s": (*NUMBER, NONE),
    "prompt_s": (*NUMBER, NONE),
    "tokens_per_s": (*NUMBER, NONE),
    "repairs": (ListOf(str), NONE),
    "messages": (ListOf(_MESSAGE), NONE),
}

_STAGE: Mapping[str, Kind] = {
    "seconds": (*NUMBER, NONE),
    "role": str,
    "stage": (str, NONE),
    "detail": (str, NONE),
    "status": (str, NONE),
}
_QA_ROUND: Mapping[str, Kind] = {
    "round": (int, NONE),
    "tests_passed": (int, NONE),
    "tests_failed": (int, NONE),
    "smoke": (str, NONE),
    "needs": (ListOf(str), NONE),
}

SUMMARY: Mapping[str, Kind] = {
    "run": (str, NONE),
    "status": (str, NONE),
    "exit_code": (int, NONE),
    "seconds": (*NUMBER, NONE),
    "idea": (str, NONE),
    "error": (str, NONE),
    "calls": int,
    "prompt_tokens": int,
    "completion_tokens": int,
    "retries": int,
    "reasks": int,
    "field_followups": int,
    "cost": (*NUMBER, NONE),
    "cost_known": (bool, NONE),
    "config": (
        {
            "replay_file": (str, NONE),
            "base_url": (str, NONE),
            "provider": (str, NONE),
            "model": (str, NONE),
            "repair": (bool, NONE),
        },
        NONE,
    ),
    "repairs": (MapOf(int), NONE),
    "qa": ({"rounds": (ListOf(_QA_ROUND), NONE), "sandbox": (str, NONE)}, NONE),
    "stages": (ListOf(_STAGE), NONE),
    "timing": (
        {
            "model_seconds": (*NUMBER, NONE),
            "prompt_read_share": (*NUMBER, NONE),
            "cache_hit_share": (*NUMBER, NONE),
            "median_first_token_s": (*NUMBER, NONE),
            "tokens_per_s": (*NUMBER, NONE),
        },
        NONE,
    ),
}


def shape_problem(value: Any, kind: Kind, where: str) -> str | None:
    """The first place where `value` is not of `kind` (fields a spec does not name are not looked at)."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if any(_fits(value, one) for one in kinds if isinstance(one, type)):
        return None
    for one in kinds:
        if isinstance(one, ListOf) and isinstance(value, list):
            return next((p for i, v in enumerate(value) if (p := shape_problem(v, one.item, f"{where}[{i}]"))), None)
        if isinstance(one, MapOf) and isinstance(value, dict):
            items = value.items()
            return next((p for k, v in items if (p := shape_problem(v, one.value, f"{where}.{k}"))), None)
        if isinstance(one, Mapping) and isinstance(value, dict):
            return _fields_problem(value, one, where)
    return f"{where} is {describe_value(value)}"


def _fits(value: Any, kind: type) -> bool:
    if isinstance(value, bool) and kind is not bool:
        return False  # a count of `true` is no count
    return isinstance(value, kind)


def _fields_problem(value: dict[str, Any], spec: Mapping[str, Kind], where: str) -> str | None:
    for key, kind in spec.items():
        if key in value:
            problem = shape_problem(value[key], kind, f"{where}.{key}" if where else key)
            if problem is not None:
                return problem
    return None


def check_exchanges(exchanges: list[dict[str, Any]], *, record: Path) -> None:
    """A ConfigError naming the record, the call and the field when a call's fields are of the wrong kind."""
    for index, exchange in enumerate(exchanges, 1):
        problem = _fields_problem(exchange, EXCHANGE, "")
        if problem is not None:
            raise ConfigError(
                f"the record {record} is not a devteam record: in call {index}, {problem} (was it edited?)"
            )


def summary_problem(summary: Any) -> str | None:
    """Why `summary` cannot be shown as a run's summary (None: it can)."""
    if not isinstance(summary, dict):
        return f"it is {describe_value(summary)}, not a JSON object"
    return _fields_problem(summary, SUMMARY, "")
