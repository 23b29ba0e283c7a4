"""Scheduling: every (model, idea) pair is one `run_company` call with QA on, a few at a time.

Each finished project is written to `bench.json` at once, so an interrupted bench resumes where it stopped:
finished projects are kept as they are, a project cut off in the middle is continued with `resume`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import git

from devteam.commands.bench.suite import Idea
from devteam.config.settings import Config
from devteam.core.errors import RunInterruptedError
from devteam.llm.record_file import RECORD_DIR, SUMMARY
from devteam.roles.qa_engineer import REPORTS
from devteam.run.company import run_company
from devteam.run.options import RunOptions
from devteam.run.stop_signals import StopRequest, install_stop_signals
from devteam.workspace.project import resolve_project_root

STATE = "bench.json"
FIELD_FOLLOWUP = "repair_field_followup"
_NOT_CODE = ("docs/", ".gitignore", "README.md", "requirements.txt")


@dataclass(frozen=True)
class Contender:
    """One model config in the bench; `label` names its folder and its table."""

    label: str
    config: Config
    source: str


@dataclass(frozen=True)
class BenchSettings:
    workspace: Path
    concurrency: int = 2
    qa_rounds: int = 2
    code_review: bool = True
    investment: float = 3.0


def result_key(label: str, idea: Idea) -> str:
    return f"{label}/{idea.project_name}"


def load_results(workspace: Path) -> dict[str, dict[str, Any]]:
    """The finished projects of an earlier bench in this workspace (none when there is no readable state)."""
    try:
        data = json.loads((workspace / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    rows = data.get("projects") if isinstance(data, dict) else None
    return {f"{row['model']}/{row['project']}": row for row in rows or [] if isinstance(row, dict)}


async def run_bench(
    contenders: list[Contender],
    ideas: list[Idea],
    settings: BenchSettings,
    *,
    save: Callable[[list[dict[str, Any]]], None],
    announce: Callable[[str], None] = lambda line: None,
    stop: StopRequest | None = None,
) -> list[dict[str, Any]]:
    """Run what is not finished yet; `save` gets every row (old and new) each time a project ends.

    On Ctrl-C / SIGTERM (noted in `stop`) the running projects stop as interrupted runs and are not saved:
    the next bench continues them with `resume`."""
    done = load_results(settings.workspace)
    rows: dict[str, dict[str, Any]] = dict(done)
    pending = [(c, idea) for c in contenders for idea in ideas if result_key(c.label, idea) not in done]
    if done:
        announce(f"resuming: {len(rows)} projects already done, {len(pending)} to run")
    semaphore = asyncio.Semaphore(settings.concurrency)

    async def one(contender: Contender, idea: Idea) -> None:
        async with semaphore:
            announce(f"{contender.label}: {idea.project_name} ...")
            row = await run_project(contender, idea, settings, stop)
            if row is None:
                return
            rows[result_key(contender.label, idea)] = row
            save(_in_order(rows, contenders, ideas))
            announce(
                f"{contender.label}: {idea.project_name} {row['status']} in {row['seconds']:.1f}s, "
                f"starts: {row['starts']}, tests {row['tests_passed']}/{row['tests_total']}"
            )

    await asyncio.gather(*(one(contender, idea) for contender, idea in pending))
    return _in_order(rows, contenders, ideas)


def _in_order(rows: dict[str, dict[str, Any]], contenders: list[Contender], ideas: list[Idea]) -> list[dict[str, Any]]:
    ordered = [rows[result_key(c.label, i)] for c in contenders for i in ideas if result_key(c.label, i) in rows]
    return ordered + [row for key, row in rows.items() if row not in ordered]


async def run_project(
    contender: Contender, idea: Idea, settings: BenchSettings, stop: StopRequest | None = None
) -> dict[str, Any] | None:
    """One ordinary run (the CLI's path) into `<workspace>/<label>/<project>`; its progress goes to a log file."""
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
    logs = model_workspace / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / f"{idea.project_name}.log").open("a", encoding="utf-8") as progress:
        outcome = await run_company(contender.config, options, progress_stream=progress, stop=stop)
    if isinstance(outcome.error, RunInterruptedError):
        return None  # not a result: the next bench continues this project
    summary = _read_summary(outcome.record_dir)
    return project_row(contender.label, idea, outcome.repo_root, summary, outcome.error)


def _read_summary(record_dir: Path | None) -> dict[str, Any]:
    if record_dir is None:
        return {}
    try:
        data = json.loads((record_dir / SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def project_row(
    label: str, idea: Idea, root: Path | None, summary: dict[str, Any], error: BaseException | None
) -> dict[str, Any]:
    """The figures of one project: MetaGPT's Table 1 columns plus ours, all from the run's own record."""
    qa = summary.get("qa") or {}
    rounds = qa.get("rounds") or []
    last = rounds[-1] if rounds else {}
    files, lines = code_size(root)
    repairs = summary.get("repairs") or {}
    return {
        "model": label,
        "idea_number": idea.number,
        "idea": idea.text,
        "project": idea.project_name,
        "path": str(root) if root is not None else None,
        "status": "ok" if error is None else "failed",
        "error": str(error) if error is not None else None,
        "starts": last.get("smoke") in ("clean exit", "clean start"),
        "smoke": last.get("smoke"),
        "needs": list(last.get("needs") or []),
        "tests_passed": int(last.get("tests_passed") or 0),
        "tests_total": int(last.get("tests_total") or 0),
        "qa_rounds": max(len(rounds), committed_rounds(root)),
        "seconds": float(summary.get("seconds") or 0.0),
        "cost": float(summary.get("cost") or 0.0),
        "prompt_tokens": int(summary.get("prompt_tokens") or 0),
        "completion_tokens": int(summary.get("completion_tokens") or 0),
        "calls": int(summary.get("calls") or 0),
        "code_files": files,
        "lines_of_code": lines,
        "reasks": int(summary.get("reasks") or 0),
        # Field follow-ups are the ladder's `repair_field_followup` marker, counted apart from re-asks.
        "follow_ups": int(repairs.get(FIELD_FOLLOWUP) or 0),
        "repairs": {str(kind): int(count) for kind, count in repairs.items()},
    }


def committed_rounds(root: Path | None) -> int:
    """QA rounds in the project's history: a resumed project counts the rounds of its earlier runs too."""
    if root is None or not (root / ".git").exists():
        return 0
    with git.Repo(root) as repo:
        return sum(1 for path in repo.git.ls_files(REPORTS).splitlines() if "/round_" in path)


def code_size(root: Path | None) -> tuple[int, int]:
    """Committed code files and their non-blank lines (docs, README, requirements and .gitignore left out)."""
    if root is None or not (root / ".git").exists():
        return 0, 0
    with git.Repo(root) as repo:
        paths = [p for p in repo.git.ls_files().splitlines() if p and not p.startswith(_NOT_CODE)]
    lines = 0
    for rel in paths:
        if rel.startswith(RECORD_DIR):
            continue
        try:
            text = (root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        lines += sum(1 for line in text.splitlines() if line.strip())
    return len(paths), lines


async def run_bench_stoppable(
    contenders: list[Contender],
    ideas: list[Idea],
    settings: BenchSettings,
    *,
    save: Callable[[list[dict[str, Any]]], None],
    announce: Callable[[str], None] = lambda line: None,
) -> tuple[list[dict[str, Any]] | None, StopRequest]:
    """`run_bench` with Ctrl-C and SIGTERM turned into a stop; the rows are None when it was stopped."""
    stop = StopRequest()
    task = asyncio.current_task()
    assert task is not None
    uninstall = install_stop_signals(stop, task)
    try:
        return await run_bench(contenders, ideas, settings, save=save, announce=announce, stop=stop), stop
    except asyncio.CancelledError:
        if not stop.requested:
            raise
        if hasattr(task, "uncancel"):
            task.uncancel()
        return None, stop
    finally:
        uninstall()
