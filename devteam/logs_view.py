"""`metagpt logs [PROJECT]`: a run's LLM calls as a table and its summary; `--json` raw, `--call N` in full.

Exit codes: 0 shown; 1 no record to show (no project with a `.devteam/exchanges.jsonl`, or an unreadable
one); 2 a usage error (`--call` out of range; a broken config when it is needed to find the workspace).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from devteam.config import ConfigNotFoundError, load_config
from devteam.errors import ConfigError, DevteamError
from devteam.exit_codes import EXIT_FAILED as EXIT_NO_RECORD, EXIT_OK, EXIT_USAGE
from devteam.llm.record_file import EXCHANGES, RECORD_DIR, SUMMARY, read_exchanges

DEFAULT_WORKSPACE = Path("workspace")
_COLUMNS = ("#", "role", "action", "subject", "model", "tokens in/out", "latency s", "retries", "repairs",
            "outcome")
_WIDEST = {"subject": 28, "model": 22, "repairs": 40, "outcome": 30}


class NoRecordError(DevteamError):
    """There is no run record where the user pointed (or in the workspace)."""


def run_logs_command(args: argparse.Namespace, *, stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    try:
        # A broken config, read to find the workspace, raises ConfigError: the CLI's exit 2.
        record = find_record(args)
    except NoRecordError as missing:
        print(f"metagpt logs: {missing}", file=sys.stderr)
        return EXIT_NO_RECORD
    try:
        exchanges = read_exchanges(record)
    except ConfigError as unreadable:  # the file is there but is not a record
        print(f"metagpt logs: {unreadable}", file=sys.stderr)
        return EXIT_NO_RECORD
    if args.call is not None:
        chosen = [e for e in exchanges if e.get("seq") == args.call]
        if not chosen:
            print(f"metagpt logs: --call {args.call}: {record} holds calls 1 to {len(exchanges)}", file=sys.stderr)
            return EXIT_USAGE
        print(json.dumps(chosen[0], ensure_ascii=False) if args.json else format_call(chosen[0]), file=out)
        return EXIT_OK
    if args.json:
        for exchange in exchanges:
            print(json.dumps(exchange, ensure_ascii=False), file=out)
        return EXIT_OK
    print(f"Record: {record}", file=out)
    print(format_table(exchanges), file=out)
    summary = read_summary(record.parent / SUMMARY)
    if summary is not None:
        print("", file=out)
        print(format_summary(summary), file=out)
    return EXIT_OK


# -- finding the record ------------------------------------------------------------------------------------


def find_record(args: argparse.Namespace) -> Path:
    """The exchanges file of the project named, or of the most recently changed project in the workspace."""
    if args.project is not None:
        return record_of(Path(args.project).expanduser())
    workspace = _workspace(args)
    projects = [p for p in _children(workspace) if (p / RECORD_DIR / EXCHANGES).is_file()]
    if not projects:
        raise NoRecordError(
            f"no project with a run record in {workspace.resolve()} (looked for */{RECORD_DIR}/{EXCHANGES}); "
            "run metagpt \"IDEA\" first, or name the project: metagpt logs PROJECT_DIR"
        )
    latest = max(projects, key=lambda p: (p / RECORD_DIR / EXCHANGES).stat().st_mtime)
    return latest / RECORD_DIR / EXCHANGES


def record_of(path: Path) -> Path:
    """A project folder, its `.devteam/` folder, or the exchanges file itself."""
    for candidate in (path / RECORD_DIR / EXCHANGES, path / EXCHANGES, path):
        if candidate.is_file():
            return candidate
    if not path.exists():
        raise NoRecordError(f"{path} does not exist")
    raise NoRecordError(f"{path} holds no run record (no {RECORD_DIR}/{EXCHANGES}); was it made by metagpt?")


def _workspace(args: argparse.Namespace) -> Path:
    if args.workspace is not None:
        return Path(args.workspace).expanduser()
    try:
        config = load_config(args.config, cwd=Path.cwd(), home=Path.home(), env=os.environ)
    except ConfigNotFoundError:
        return DEFAULT_WORKSPACE
    return Path(config.workspace).expanduser()


def _children(folder: Path) -> list[Path]:
    try:
        return [child for child in folder.iterdir() if child.is_dir()]
    except OSError:
        return []


def read_summary(path: Path) -> dict[str, Any] | None:
    """The latest run's summary; None when the run never got to write one (killed)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- formatting --------------------------------------------------------------------------------------------


def table_row(exchange: dict[str, Any]) -> list[str]:
    estimated = "~" if exchange.get("usage_estimated") else ""
    tokens = f"{estimated}{exchange.get('prompt_tokens', 0):,}/{exchange.get('completion_tokens', 0):,}"
    return [
        str(exchange.get("seq", "")),
        str(exchange.get("role", "")),
        str(exchange.get("action", "")),
        str(exchange.get("subject") or "-"),
        str(exchange.get("model", "")),
        tokens,
        f"{float(exchange.get('latency_s') or 0):.2f}",
        str(exchange.get("retries", 0)),
        ", ".join(exchange.get("repairs") or []) or "-",
        str(exchange.get("outcome", "ok")),
    ]


def format_table(exchanges: list[dict[str, Any]]) -> str:
    rows: list[list[str] | str] = []
    current_run = None
    for exchange in exchanges:
        run = exchange.get("run")
        if run != current_run and len({e.get("run") for e in exchanges}) > 1:
            rows.append(f"-- run {run}")
        current_run = run
        rows.append([_clip(value, _WIDEST.get(name)) for name, value in zip(_COLUMNS, table_row(exchange))])
    cells = [row for row in rows if isinstance(row, list)]
    widths = [max(len(name), *(len(row[i]) for row in cells)) for i, name in enumerate(_COLUMNS)]
    lines = ["  ".join(name.ljust(width) for name, width in zip(_COLUMNS, widths)).rstrip()]
    lines.append("  ".join("-" * width for width in widths))
    for row in rows:
        lines.append(row if isinstance(row, str) else "  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
    return "\n".join(lines)


def _clip(value: str, width: int | None) -> str:
    if width is None or len(value) <= width:
        return value
    return value[: width - 1] + "…"


def format_summary(summary: dict[str, Any]) -> str:
    status = summary.get("status", "?")
    lines = [
        f"Run:      {summary.get('run', '?')} ({status}, exit {summary.get('exit_code', '?')}, "
        f"{float(summary.get('seconds') or 0):.1f}s)",
        f"Idea:     {summary.get('idea', '')}",
    ]
    config = summary.get("config") or {}
    if config:
        if config.get("replay_file"):
            source = f"replay of {config['replay_file']}"
        else:
            where = f" at {config['base_url']}" if config.get("base_url") else ""
            source = f"{config.get('provider')} {config.get('model') or '?'}{where}"
        lines.append(f"Config:   {source}, repair {'on' if config.get('repair') else 'off'}")
    if summary.get("error"):
        lines.append(f"Error:    {summary['error']}")
    lines.append(f"Calls:    {summary.get('calls', 0)}, {summary.get('prompt_tokens', 0):,} prompt + "
                 f"{summary.get('completion_tokens', 0):,} completion tokens, ${float(summary.get('cost') or 0):.4f}")
    lines.append(f"Retries:  {summary.get('retries', 0)}, re-asks: {summary.get('reasks', 0)}")
    repairs = summary.get("repairs") or {}
    lines.append("Repairs:  " + (", ".join(f"{kind} x{count}" for kind, count in repairs.items()) or "none"))
    qa = summary.get("qa") or {}
    for result in qa.get("rounds") or []:
        smoke = f", entry point: {result['smoke']}" if result.get("smoke") else ""
        needs = f", needs {', '.join(result['needs'])}" if result.get("needs") else ""
        lines.append(f"QA:       round {result.get('round')}: {result.get('tests_passed', 0)} tests passed, "
                     f"{result.get('tests_failed', 0)} failed{smoke}{needs}")
    if qa.get("sandbox"):
        lines.append(f"Sandbox:  {qa['sandbox']}")
    stages = summary.get("stages") or []
    if stages:
        lines.append("Stages:")
        for stage in stages:
            seconds = stage.get("seconds")
            timing = f"{seconds:7.2f}s" if isinstance(seconds, (int, float)) else "      - "
            detail = f"  {stage['detail']}" if stage.get("detail") else ""
            state = "" if stage.get("status") == "done" else f"  ({stage.get('status')})"
            lines.append(f"  {timing}  {stage.get('role', ''):<15} {stage.get('stage', '')}{detail}{state}")
    return "\n".join(lines)


def format_call(exchange: dict[str, Any]) -> str:
    subject = f" {exchange['subject']}" if exchange.get("subject") else ""
    lines = [
        f"Call {exchange.get('seq')} of run {exchange.get('run')}: {exchange.get('role')} "
        f"{exchange.get('action')}{subject}",
        f"Model:    {exchange.get('model')} via {exchange.get('provider')} (output mode "
        f"{exchange.get('output_mode', 'prompt')})",
        f"Finish:   {exchange.get('finish_reason')}",
        f"Usage:    {exchange.get('prompt_tokens', 0)} prompt + {exchange.get('completion_tokens', 0)} completion"
        f" tokens{' (estimated)' if exchange.get('usage_estimated') else ''}, ${float(exchange.get('cost') or 0):.6f}",
        f"Latency:  {float(exchange.get('latency_s') or 0):.2f}s, {exchange.get('retries', 0)} retries",
        f"Repairs:  {', '.join(exchange.get('repairs') or []) or 'none'}",
        f"Outcome:  {exchange.get('outcome', 'ok')}",
    ]
    for message in exchange.get("messages") or []:
        lines += ["", f"--- {message.get('role', '?')} ---", str(message.get("content", ""))]
    if exchange.get("reasoning"):
        lines += ["", "--- reasoning (from the server's reasoning field) ---", str(exchange["reasoning"])]
    lines += ["", "--- answer (raw) ---", str(exchange.get("answer", ""))]
    return "\n".join(lines)
