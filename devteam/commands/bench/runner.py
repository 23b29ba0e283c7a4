"""Scheduling: every (model, idea) pair is one `run_company` call with QA on, as many at once as the server takes.

Each finished project is written to `bench.json` at once, so an interrupted bench resumes where it stopped:
finished projects are kept as they are, a project cut off in the middle is continued with `resume`, and a
project whose run failed is continued on the next bench too (unless `retry_failed` is off).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from devteam.commands.bench.pacing import Pacer, ServerPace, probe_server
from devteam.commands.bench.project_tags import set_project_tag
from devteam.commands.bench.rows import first_line, project_row, project_summaries
from devteam.commands.bench.state import row_key
from devteam.commands.bench.suite import Idea
from devteam.config.settings import Config
from devteam.core.errors import RunInterruptedError
from devteam.llm.concurrency import shared_gates
from devteam.run.company import run_company
from devteam.run.options import RunOptions
from devteam.run.stop_signals import StopRequest, install_stop_signals
from devteam.workspace.project import resolve_project_root

LOGS = "logs"


@dataclass(frozen=True)
class Contender:
    """One model config in the bench; `label` names its folder and its table."""

    label: str
    config: Config
    source: str


@dataclass(frozen=True)
class BenchSettings:
    workspace: Path
    concurrency: int | None = None  # None: fitted to each server
    qa_rounds: int = 2
    code_review: bool = True
    investment: float = 3.0
    retry_failed: bool = True


def result_key(label: str, idea: Idea) -> str:
    return row_key(label, idea.project_name)


def reusable(row: dict[str, Any] | None, idea: Idea, settings: BenchSettings) -> bool:
    """An earlier row stands for this idea only if it was made from this very idea (the whole text), and a
    failed run only when the user asked not to try failed projects again."""
    if row is None or row.get("idea") != idea.text:
        return False
    return row.get("status") != "failed" or not settings.retry_failed


async def run_bench(
    contenders: list[Contender],
    ideas: list[Idea],
    settings: BenchSettings,
    *,
    earlier: dict[str, dict[str, Any]],
    save: Callable[[list[dict[str, Any]]], None],
    announce: Callable[[str], None] = lambda line: None,
    stop: StopRequest | None = None,
) -> list[dict[str, Any]]:
    """Run what is not finished yet; `save` gets every row of this suite each time a project ends.

    On Ctrl-C / SIGTERM (noted in `stop`) the running projects stop as interrupted runs and are not saved:
    the next bench continues them with `resume`."""
    keys = {result_key(c.label, idea) for c in contenders for idea in ideas}
    rows: dict[str, dict[str, Any]] = {}
    for contender in contenders:
        for idea in ideas:
            key = result_key(contender.label, idea)
            if reusable(earlier.get(key), idea, settings):
                rows[key] = earlier[key]
    pending = [(c, idea) for c in contenders for idea in ideas if result_key(c.label, idea) not in rows]
    again = sum(1 for c, idea in pending if (earlier.get(result_key(c.label, idea)) or {}).get("status") == "failed")
    if rows or again:
        failed_note = f" ({again} failed before, run again)" if again else ""
        announce(f"resuming: {len(rows)} projects already done, {len(pending)} to run{failed_note}")
    stale = sum(1 for key in earlier if key not in keys)
    if stale:
        announce(f"{stale} earlier results are of ideas not in this suite (edited or removed): left out of the report")
    pacer = Pacer(settings.concurrency)
    with shared_gates():
        paces = await _probe(contenders, announce, pacer)

        async def one(contender: Contender, idea: Idea) -> None:
            pace = paces[contender.label]
            async with pacer.turn(pace):
                tag = f"{contender.label}/{idea.project_name}"
                set_project_tag(tag)
                announce(f"{tag} ...")
                row = await run_project(contender, idea, settings, stop)
                if pace.gate.serial and not pace.announced_serial:
                    pace.announced_serial = True
                    announce(f"{contender.label}: the server {pace.gate.reason}; one project at a time from now on")
            if row is None:
                return
            rows[result_key(contender.label, idea)] = row
            save(_in_order(rows, contenders, ideas))
            announce(f"{tag} {outcome_line(row)}")

        await asyncio.gather(*(one(contender, idea) for contender, idea in pending))
    return _in_order(rows, contenders, ideas)


async def _probe(contenders: list[Contender], announce: Callable[[str], None], pacer: Pacer) -> dict[str, ServerPace]:
    """Each contender's server, asked once for its slots; contenders on one server share its pace."""
    paces: dict[str, ServerPace] = {}
    by_gate: dict[int, ServerPace] = {}
    for contender in contenders:
        pace = await probe_server(contender.config)
        pace = by_gate.setdefault(id(pace.gate), pace)
        paces[contender.label] = pace
        announce(f"{contender.label}: projects {pacer.describe(pace)}")
    return paces


def outcome_line(row: dict[str, Any]) -> str:
    """What the console and the project's progress log say of a finished project: the verdict and, for a run
    that failed, why."""
    starts = "yes" if row["starts"] else ("needs " + ",".join(row["needs"]) if row["needs"] else row["smoke"] or "no")
    line = (
        f"{row['status']} in {row['seconds']:.1f}s; starts: {starts}; "
        f"tests {row['tests_passed']}/{row['tests_total']}; QA rounds {row['qa_rounds']}"
    )
    return f"{line}; error: {row['error']}" if row.get("error") else line


def _in_order(rows: dict[str, dict[str, Any]], contenders: list[Contender], ideas: list[Idea]) -> list[dict[str, Any]]:
    return [rows[result_key(c.label, i)] for c in contenders for i in ideas if result_key(c.label, i) in rows]


async def run_project(
    contender: Contender, idea: Idea, settings: BenchSettings, stop: StopRequest | None = None
) -> dict[str, Any] | None:
    """One ordinary run (the CLI's path) into `<workspace>/<label>/<project>`; its progress goes to a log file,
    which ends with the bench's verdict on the project (and the reason, for a run that failed)."""
    model_workspace = settings.workspace / contender.label
    root = resolve_project_root(model_workspace, idea.project_name)
    resume = root.is_dir() and any(root.iterdir())
    options = RunOptions(
        idea=idea.text,
        workspace=model_workspace,
        project_name=idea.project_name,
        resume=resume,
        investment=settings.investment,
        code_review=settings.code_review,
        max_concurrency=contender.config.max_concurrency,
        run_tests=True,
        qa_rounds=settings.qa_rounds,
    )
    logs = model_workspace / LOGS
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{idea.project_name}.log").open("a", encoding="utf-8") as progress:
        outcome = await run_company(contender.config, options, progress_stream=progress, stop=stop)
        if isinstance(outcome.error, RunInterruptedError):
            _log_line(progress, f"bench: stopped ({first_line(str(outcome.error))}); the next bench continues it")
            return None  # not a result: the next bench continues this project
        summaries = project_summaries(outcome.repo_root, outcome.record_dir)
        row = project_row(contender.label, idea, outcome.repo_root, summaries, outcome.error)
        _log_line(progress, f"bench: {outcome_line(row)}")
    return row


def _log_line(stream: TextIO, line: str) -> None:
    try:
        stream.write(line + "\n")
        stream.flush()
    except (OSError, ValueError):
        pass  # the log is a courtesy; the row in bench.json is what counts


async def run_bench_stoppable(
    contenders: list[Contender],
    ideas: list[Idea],
    settings: BenchSettings,
    *,
    earlier: dict[str, dict[str, Any]],
    save: Callable[[list[dict[str, Any]]], None],
    announce: Callable[[str], None] = lambda line: None,
) -> tuple[list[dict[str, Any]] | None, StopRequest]:
    """`run_bench` with Ctrl-C and SIGTERM turned into a stop; the rows are None when it was stopped."""
    stop = StopRequest()
    task = asyncio.current_task()
    assert task is not None
    uninstall = install_stop_signals(stop, task)
    try:
        rows = await run_bench(contenders, ideas, settings, earlier=earlier, save=save, announce=announce, stop=stop)
        return rows, stop
    except asyncio.CancelledError:
        if not stop.requested:
            raise
        if hasattr(task, "uncancel"):
            task.uncancel()
        return None, stop
    finally:
        uninstall()
