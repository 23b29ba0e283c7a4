"""One project's row of the bench: every figure read from the project's own record, never guessed.

A project may have taken several runs (a bench stopped and continued, a failed project tried again): the costs
(time, tokens, calls, re-asks, follow-ups, repairs) add up over all of them, read from `.devteam/runs/*.json`;
the verdict (does the program start, how many of its own tests pass) is QA's latest round.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from devteam.commands.bench.suite import Idea
from devteam.llm.record_file import RECORD_DIR, RUNS_DIR, SUMMARY

# The marker a hollow function's follow-up logs, counted where the summary has no `functions_filled` of its own.
FUNCTION_FOLLOWUP = "repair_function_followup"
STARTS = ("clean exit", "clean start")
_NOT_CODE = {"docs", "README.md", "requirements.txt"}  # at the project's top
_SKIP_DIRS = {"__pycache__", "node_modules"}
_MAX_CODE_BYTES = 1024 * 1024
_MAX_SUMMARY_BYTES = 4 * 1024 * 1024


def project_summaries(root: Path | None, record_dir: Path | None) -> list[dict[str, Any]]:
    """Every run's summary of the project, oldest first; the last run's alone when the project has no folder."""
    runs = root / RECORD_DIR / RUNS_DIR if root is not None else None
    if runs is not None and runs.is_dir():
        found = [_read_json(path) for path in sorted(runs.glob("*.json"))]
        summaries = [summary for summary in found if summary is not None]
        if summaries:
            return summaries
    last = _read_json(record_dir / SUMMARY) if record_dir is not None else None
    return [last] if last is not None else []


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        if not path.is_file() or path.stat().st_size > _MAX_SUMMARY_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def project_row(
    label: str, idea: Idea, root: Path | None, summaries: list[dict[str, Any]], error: BaseException | None
) -> dict[str, Any]:
    """The figures of one project: MetaGPT's Table 1 columns plus ours."""
    verdict = latest_round(summaries)
    files, lines = code_size(root)
    repairs: Counter[str] = Counter()
    for summary in summaries:
        repairs.update(_counts(summary.get("repairs")))
    row: dict[str, Any] = {
        "model": label,
        "idea_number": idea.number,
        "idea": idea.text,
        "project": idea.project_name,
        "path": str(root) if root is not None else None,
        "error": first_line(str(error)) if error is not None else None,
        "starts": verdict.get("smoke") in STARTS,
        "smoke": _text(verdict.get("smoke")),
        "needs": [str(need) for need in verdict.get("needs") or [] if isinstance(need, str)],
        "tests_passed": _int(verdict.get("tests_passed")),
        "tests_failed": _int(verdict.get("tests_failed")),
        # Tests QA collected: a later verdict names them `tests_collected`; older ones `tests_total`.
        "tests_total": _int(verdict.get("tests_collected", verdict.get("tests_total"))),
        "qa_rounds": sum(len(_rounds(summary)) for summary in summaries),
        "runs": len(summaries),
        "seconds": round(_total(summaries, "seconds"), 3),
        "cost": round(_total(summaries, "cost"), 6),
        "prompt_tokens": int(_total(summaries, "prompt_tokens")),
        "completion_tokens": int(_total(summaries, "completion_tokens")),
        "calls": int(_total(summaries, "calls")),
        "code_files": files,
        "lines_of_code": lines,
        "reasks": int(_total(summaries, "reasks")),
        "follow_ups": int(_total(summaries, "field_followups")),
        "functions_filled": sum(functions_filled(summary) for summary in summaries),
        "repairs": dict(repairs.most_common()),
        **timing_shares(summaries),
    }
    row["status"] = status(row, error is not None, has_verdict=bool(verdict))
    return row


def status(row: dict[str, Any], failed: bool, *, has_verdict: bool) -> str:
    """`ok` only for a run that finished with a program that starts and passes every one of its own tests."""
    if failed:
        return "failed"
    if not has_verdict:
        return "not tested"
    if not row["starts"]:
        return "does not start"
    if not row["tests_total"]:
        return "no tests"
    if row["tests_failed"] or row["tests_passed"] < row["tests_total"]:
        return "tests fail"
    return "ok"


def latest_round(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """QA's last verdict on the project (the latest run that had a QA round), or {} when QA never ran."""
    for summary in reversed(summaries):
        rounds = [r for r in _rounds(summary) if isinstance(r, dict)]
        if rounds:
            return rounds[-1]
    return {}


def functions_filled(summary: dict[str, Any]) -> int:
    """Hollow functions given a body: the summary's own count where it has one, else the follow-up marker."""
    if "functions_filled" in summary:
        return _int(summary.get("functions_filled"))
    return _counts(summary.get("repairs")).get(FUNCTION_FOLLOWUP, 0)


def first_line(text: str, limit: int = 300) -> str:
    line = next((part for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def timing_shares(summaries: list[dict[str, Any]]) -> dict[str, float | None]:
    """The project's prompt-read share of model time and cache hit share, from its runs' summaries (`timing`);
    None where no run's server or stream said."""
    timings = [summary["timing"] for summary in summaries if isinstance(summary.get("timing"), dict)]
    read = [t for t in timings if isinstance(t.get("prompt_read_seconds"), (int, float))]
    cached = [t for t in timings if isinstance(t.get("cached_prompt_tokens"), int)]
    model_s = sum(_number(t.get("model_seconds")) for t in read)
    cached_of = sum(
        _number(t.get("cached_prompt_tokens")) / t["cache_hit_share"] for t in cached if t.get("cache_hit_share")
    )
    return {
        "prompt_read_share": sum(_number(t["prompt_read_seconds"]) for t in read) / model_s if model_s else None,
        "cache_hit_share": sum(_number(t["cached_prompt_tokens"]) for t in cached) / cached_of if cached_of else None,
    }


def _rounds(summary: dict[str, Any]) -> list[Any]:
    qa = summary.get("qa")
    rounds = qa.get("rounds") if isinstance(qa, dict) else None
    return rounds if isinstance(rounds, list) else []


def _counts(value: Any) -> Counter[str]:
    if not isinstance(value, dict):
        return Counter()
    return Counter({str(k): v for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool) and v > 0})


def _total(summaries: list[dict[str, Any]], key: str) -> float:
    return sum(_number(summary.get(key)) for summary in summaries)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or value < 0:
        return 0.0
    return float(value)


def _int(value: Any) -> int:
    return int(_number(value))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def code_size(root: Path | None) -> tuple[int, int]:
    """The project's code files and their non-blank lines, read from the folder without running git in it
    (docs, README, requirements, hidden folders and links left out; a file too large to be code counts 0 lines)."""
    if root is None or not root.is_dir():
        return 0, 0
    files = lines = 0
    for path in _code_files(root, root):
        files += 1
        try:
            if path.stat().st_size <= _MAX_CODE_BYTES:
                lines += sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
        except (OSError, UnicodeDecodeError):
            continue
    return files, lines


def _code_files(root: Path, folder: Path) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        rel = entry.relative_to(root).as_posix()
        if entry.is_symlink() or entry.name.startswith(".") or entry.name in _SKIP_DIRS or rel in _NOT_CODE:
            continue
        if entry.is_dir():
            yield from _code_files(root, entry)
        elif entry.is_file():
            yield entry
