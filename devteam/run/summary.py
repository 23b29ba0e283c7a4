"""The run summary the record keeps: what was asked, with which settings, how each stage went, what it cost.

Stage timings come from the progress events (`StageClock` is a progress listener), so the roles do not
report to the record themselves.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devteam.console.progress import StageEvent
from devteam.llm.usage import TimeShares

if TYPE_CHECKING:
    from devteam.config.settings import Config
    from devteam.run.options import RunOptions, RunOutcome

# The exit code the CLI gives each status (see devteam.cli); a record only exists once a project does, so a
# failed run with a record is always exit 1, and so is a crash (an uncaught exception ends Python with 1).
EXIT_CODES = {"ok": 0, "failed": 1, "crashed": 1, "cancelled": 1, "interrupted": 130, "terminated": 143}


@dataclass
class StageClock:
    """Pairs each progress `start` with its `done` (same role, same text)."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    _open: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_event(self, event: StageEvent) -> None:
        with self._lock:
            if event.kind == "start":
                self._open.append({"role": event.role, "stage": event.text, "started_s": round(event.elapsed, 3)})
            elif event.kind == "done":
                self._close(event)
            else:
                self.notes.append({"role": event.role, "note": event.text, "at_s": round(event.elapsed, 3)})

    def _close(self, event: StageEvent) -> None:
        candidates = [s for s in self._open if s["role"] == event.role and event.text == s["stage"]]
        if not candidates:
            self.stages.append(
                {
                    "role": event.role,
                    "stage": event.text,
                    "started_s": None,
                    "seconds": None,
                    "status": "done",
                    "detail": "",
                }
            )
            return
        stage = candidates[0]
        self._open.remove(stage)
        stage.update(seconds=round(event.elapsed - stage["started_s"], 3), status="done", detail=event.detail)
        self.stages.append(stage)

    def snapshot(self) -> list[dict[str, Any]]:
        """Finished stages in start order, then the ones still open (a failed or interrupted run)."""
        with self._lock:
            unfinished = [{**s, "seconds": None, "status": "unfinished", "detail": ""} for s in self._open]
            done = sorted(self.stages, key=lambda s: (s["started_s"] is None, s["started_s"] or 0.0))
            return done + unfinished


def build_summary(
    *,
    run_id: str,
    config: Config,
    options: RunOptions,
    outcome: RunOutcome,
    status: str,
    started_at: str,
    finished_at: str,
    seconds: float,
    clock: StageClock,
    sandbox: str | None = None,
) -> dict[str, Any]:
    """Plain JSON data; the recorder redacts it before writing."""
    ledger, run = outcome.ledger, outcome.run
    settings = config.summary()
    if config.llm.replay_file:
        settings["replay_file"] = config.llm.replay_file
    error = outcome.error
    return {
        "run": run_id,
        "idea": options.idea,
        "status": status,
        "exit_code": EXIT_CODES.get(status, 1),
        "error": str(error) if error is not None else None,
        "error_type": type(error).__name__ if error is not None else None,
        "started_at": started_at,
        "finished_at": finished_at,
        "seconds": round(seconds, 3),
        "project": str(outcome.repo_root) if outcome.repo_root is not None else None,
        "config": settings,
        "options": {
            "code_review": options.code_review,
            "max_concurrency": options.max_concurrency,
            "investment": options.investment,
            "resume": options.resume,
            "incremental": options.incremental,
            "run_tests": options.run_tests,
        },
        "stages": clock.snapshot(),
        "notes": list(clock.notes),
        "calls": ledger.call_count,
        "failed_calls": ledger.failed_calls,
        "prompt_tokens": ledger.prompt_tokens,
        "completion_tokens": ledger.completion_tokens,
        "cost": round(ledger.cost, 6),
        "cost_known": ledger.cost_known,
        "repairs": dict(sorted(ledger.repairs.items())),
        "retries": ledger.retries,
        "reasks": ledger.reasks,
        "timing": timing_summary(ledger.time_shares),
        "qa": _qa_summary(options, run, sandbox),
        "field_followups": ledger.field_followups,
        "files": {
            "written": list(run.files_written),
            "refused": list(run.files_refused),
            "kept_local_changes": list(run.files_kept),
            "not_compiling": list(run.files_not_compiling),
        },
    }


def timing_summary(shares: TimeShares) -> dict[str, Any]:
    """Where the model's seconds went: the share spent reading prompts (the server's prompt time, or the time
    to the first streamed token) and the share of prompt tokens the server's cache served; None: no call said."""
    return {
        "model_seconds": round(shares.model_s, 3),
        "prompt_read_seconds": _round(shares.prompt_read_s, 3),
        "prompt_read_share": _round(shares.prompt_read_share, 4),
        "cached_prompt_tokens": shares.cached_tokens,
        "cache_hit_share": _round(shares.cache_hit_share, 4),
        "median_first_token_s": _round(shares.first_token_s, 3),
        "tokens_per_s": _round(shares.tokens_per_s, 2),
    }


def _round(value: float | None, digits: int) -> float | None:
    return round(value, digits) if value is not None else None


def _qa_summary(options: RunOptions, run: Any, sandbox: str | None) -> dict[str, Any] | None:
    """Tests passed / failed per QA round, and what the sandbox could and could not isolate here."""
    if not options.run_tests:
        return None
    return {"rounds": list(run.qa_results), "max_fix_rounds": options.qa_rounds, "sandbox": sandbox}
