"""The bench folder between runs: one bench at a time in it (an OS lock), and `bench.json` read back with care.

`bench.json` is what a bench resumes from, and a person may have edited it: a row with a missing or mistyped
field is not used (its project runs again), and a file that cannot be used as it is — not JSON, not a bench's
shape, or any row dropped — is moved aside with a notice before anything is written over it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from devteam.core.errors import ConfigError
from devteam.workspace.lock import ProjectBusyError, ProjectLock

STATE = "bench.json"


class BenchBusyError(ConfigError):
    """Another bench holds this bench folder right now."""


class BenchRow(BaseModel):
    """One project's row as bench.json keeps it; fields added by later versions pass through untouched."""

    model_config = ConfigDict(extra="allow")

    model: str
    project: str
    idea: str
    status: str
    idea_number: int = 0
    path: str | None = None
    error: str | None = None
    starts: bool = False
    smoke: str | None = None
    needs: list[str] = []
    tests_passed: int = 0
    tests_failed: int = 0
    tests_total: int = 0
    qa_rounds: int = 0
    runs: int = 1
    seconds: float = 0.0
    cost: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    code_files: int = 0
    lines_of_code: int = 0
    reasks: int = 0
    follow_ups: int = 0
    functions_filled: int = 0
    repairs: dict[str, int] = {}


@dataclass
class EarlierResults:
    """The usable rows of an earlier bench, by `model/project`, and what the user must be told about the file."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)


def row_key(model: str, project: str) -> str:
    return f"{model}/{project}"


def read_state(workspace: Path) -> EarlierResults:
    """The rows of `<workspace>/bench.json`; never raises for what is inside the file."""
    path = workspace / STATE
    if not path.exists():
        return EarlierResults()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        return EarlierResults(notices=[_set_aside(path, f"it is not readable JSON ({_short(error)})")])
    projects = data.get("projects") if isinstance(data, dict) else None
    if not isinstance(projects, list):
        return EarlierResults(notices=[_set_aside(path, "it is JSON but not a bench's results (no projects list)")])
    results = EarlierResults()
    dropped = 0
    for raw in projects:
        try:
            row = BenchRow.model_validate(raw).model_dump()
        except ValidationError:
            dropped += 1
            continue
        results.rows[row_key(row["model"], row["project"])] = row
    if dropped:
        why = f"{dropped} of its {len(projects)} rows have missing or mistyped fields (their projects run again)"
        results.notices.append(_set_aside(path, why))
    return results


def _set_aside(path: Path, why: str) -> str:
    """Move the file out of the way (never overwrite what a person may want back); the notice to print."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.unreadable-{stamp}")
    suffix = 2
    while target.exists():
        target, suffix = path.with_name(f"{path.name}.unreadable-{stamp}-{suffix}"), suffix + 1
    try:
        path.replace(target)
    except OSError as error:
        raise ConfigError(
            f"{path} cannot be used: {why}; and it cannot be moved aside ({error}). Move or delete it yourself, "
            "or give the bench another --workspace."
        ) from None
    return f"{path} cannot be used: {why}; moved it to {target.name} and wrote a new one"


def _short(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if len(text) <= 120 else text[:119] + "…"


def lock_bench_folder(workspace: Path) -> ProjectLock:
    """Hold the bench folder for this bench; a second bench there stops at once, before touching anything."""
    try:
        return ProjectLock.acquire(workspace, workspace)
    except ProjectBusyError:
        raise BenchBusyError(
            f"another metagpt bench is running in {workspace} right now; wait for it to finish (then run this "
            "one again to continue), or give this one another --workspace"
        ) from None
