"""`metagpt logs [PROJECT]`: a run's LLM calls as a table and its summary, shaped after `llm logs`.

`--json` raw, `--call N` in full (paged on a terminal), `-n N` the last N calls, `-q TEXT` only calls whose
prompt or answer holds TEXT, `-r` just the answers, `--truncate` long messages clipped, `logs path` where the
record is. Exit codes: 0 shown; 1 no record to show (no project with a `.devteam/exchanges.jsonl`, an
unreadable one, or no call matching `-q`); 2 a usage error (`--call` out of range; a broken config when it is
needed to find the workspace).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pydoc
import shutil
import sys
from pathlib import Path
from typing import Any, TextIO

from devteam.commands.log_shapes import check_exchanges, summary_problem
from devteam.commands.summary_text import figure, usage_lines
from devteam.config.settings import ConfigNotFoundError, load_config
from devteam.core.errors import ConfigError, DevteamError
from devteam.core.exit_codes import EXIT_FAILED as EXIT_NO_RECORD
from devteam.core.exit_codes import EXIT_OK, EXIT_USAGE
from devteam.core.untrusted_text import escape_unsafe
from devteam.llm.record_file import EXCHANGES, FAILED_RUNS_DIR, RECORD_DIR, SUMMARY, read_exchanges

DEFAULT_WORKSPACE = Path("workspace")
_COLUMNS = (
    "#",
    "role",
    "action",
    "subject",
    "model",
    "tokens in/out",
    "cached",
    "latency s",
    "TTFT s",
    "tok/s",
    "retries",
    "repairs",
    "outcome",
)
_WIDEST = {"subject": 28, "model": 22, "repairs": 40, "outcome": 30}
TRUNCATED_CHARS = 400
TIMELINE_WIDTH = 100  # `--timeline` into a pipe or a file: drawn this wide
PATH_WORD = "path"


class NoRecordError(DevteamError):
    """There is no run record where the user pointed (or in the workspace)."""


def run_logs_command(args: argparse.Namespace, *, stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    wants_path = _wants_path(args)
    if wants_path:
        args.project = None
    try:
        # A broken config, read to find the workspace, raises ConfigError: the CLI's exit 2.
        record = find_record(args)
    except NoRecordError as missing:
        print(f"metagpt logs: {missing}", file=sys.stderr)
        return EXIT_NO_RECORD
    if wants_path:
        print(record, file=out)
        return EXIT_OK
    if _is_empty(record):
        return _show_run_without_calls(record, out)
    try:
        exchanges = read_exchanges(record)
        check_exchanges(exchanges, record=record)
    except ConfigError as unreadable:  # the file is there but is not a record
        print(f"metagpt logs: {escape_unsafe(str(unreadable))}", file=sys.stderr)
        return EXIT_NO_RECORD
    if args.call is not None:
        chosen = [e for e in exchanges if e.get("seq") == args.call]
        if not chosen:
            print(f"metagpt logs: --call {args.call}: {record} holds calls 1 to {len(exchanges)}", file=sys.stderr)
            return EXIT_USAGE
        exchanges = chosen
    model = getattr(args, "model", None)
    if model:
        exchanges = [e for e in exchanges if e.get("model") == model]
    exchanges = select_exchanges(exchanges, queries=args.query or [], last=args.count)
    if not exchanges:
        wanted = [f"holds {query!r}" for query in args.query or []] + ([f"was answered by {model!r}"] if model else [])
        print(f"metagpt logs: no call in {record} {' and '.join(wanted)}", file=sys.stderr)
        return EXIT_NO_RECORD
    if getattr(args, "timeline", False):
        from devteam.commands.timeline import format_timeline

        print(f"Record: {record}", file=out)
        print(format_timeline(exchanges, width=_terminal_width(out) or TIMELINE_WIDTH), file=out)
        return EXIT_OK
    if args.json:
        for exchange in exchanges:
            print(json.dumps(exchange, ensure_ascii=False), file=out)
        return EXIT_OK
    if args.response:
        for exchange in exchanges:
            print(_clip_long(str(exchange.get("answer", "")), args.truncate), file=out)
        return EXIT_OK
    if args.call is not None or args.full:
        text = "\n\n".join(format_call(exchange, truncate=args.truncate) for exchange in exchanges)
        _page(text, out)
        return EXIT_OK
    print(f"Record: {record}", file=out)
    print(format_table(exchanges, width=_terminal_width(out)), file=out)
    summary = read_summary(record.parent / SUMMARY)
    if summary is not None and not args.query and args.count is None:
        print("", file=out)
        print(format_summary(summary), file=out)
    return EXIT_OK


def _is_empty(record: Path) -> bool:
    try:
        return record.stat().st_size == 0
    except OSError:
        return False


def _show_run_without_calls(record: Path, out: TextIO) -> int:
    """A run stopped before any call ended (Ctrl-C while the first prompt was counted): its summary still says
    what run it was and how it ended."""
    print(f"Record: {record}", file=out)
    print("No LLM call ended before the run stopped.", file=out)
    summary = read_summary(record.parent / SUMMARY)
    if summary is not None:
        print("", file=out)
        print(format_summary(summary), file=out)
    return EXIT_OK


def _wants_path(args: argparse.Namespace) -> bool:
    """`metagpt logs path`, as in `llm logs path`; a real folder called `path` still wins."""
    project = args.project
    return project is not None and str(project) == PATH_WORD and not Path(PATH_WORD).exists()


def select_exchanges(exchanges: list[dict[str, Any]], *, queries: list[str], last: int | None) -> list[dict[str, Any]]:
    """Calls whose prompt or answer holds every query (case-insensitive), then the last `last` of them."""
    if queries:
        needles = [query.casefold() for query in queries]
        exchanges = [e for e in exchanges if all(needle in _searchable(e) for needle in needles)]
    if last is not None:
        exchanges = exchanges[-last:] if last > 0 else []
    return exchanges


def _searchable(exchange: dict[str, Any]) -> str:
    parts = [str(message.get("content", "")) for message in exchange.get("messages") or [] if isinstance(message, dict)]
    parts += [str(exchange.get("answer", "")), str(exchange.get("subject") or "")]
    return "\n".join(parts).casefold()


def _terminal_width(out: TextIO) -> int | None:
    """The width to fit on a terminal; None (no limit) for a pipe or a file, so scripts get whole cells."""
    if not _isatty(out):
        return None
    return shutil.get_terminal_size(fallback=(120, 24)).columns


def _isatty(out: TextIO) -> bool:
    try:
        return out.isatty()
    except (AttributeError, ValueError):
        return False


def _page(text: str, out: TextIO) -> None:
    """The full view of a call can be thousands of lines: page it on a terminal, as `git log` does."""
    if out is sys.stdout and _isatty(out) and _isatty(sys.stdin):
        pydoc.pager(escape_unsafe(text))  # the pager writes to the terminal itself, past the console's escaping
    else:
        print(text, file=out)


# -- finding the record ------------------------------------------------------------------------------------


def find_record(args: argparse.Namespace) -> Path:
    """The exchanges file of the project named, or the most recently changed record in the workspace: a
    project's, or that of a run which failed before its project existed (`.devteam-failed/<run>/`)."""
    if args.project is not None:
        return record_of(Path(args.project).expanduser())
    workspace = _workspace(args)
    records = [p / RECORD_DIR / EXCHANGES for p in _children(workspace)]
    records += [p / EXCHANGES for p in _children(workspace / FAILED_RUNS_DIR)]
    found = [record for record in records if record.is_file()]
    if not found:
        raise NoRecordError(
            f"no project with a run record in {workspace.resolve()} (looked for */{RECORD_DIR}/{EXCHANGES}); "
            'run metagpt "IDEA" first, or name the project: metagpt logs PROJECT_DIR'
        )
    return max(found, key=lambda record: record.stat().st_mtime)


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
    """The latest run's summary; None when the run never got to write one (killed), or when what is there is
    not a summary (said on stderr: the calls are still shown)."""
    problem: str | None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as error:
        data, problem = None, "JSON nested too deeply to read" if isinstance(error, RecursionError) else str(error)
    else:
        problem = summary_problem(data)
    if problem is None:
        return data if isinstance(data, dict) else None
    shown = escape_unsafe(problem, one_line=True)
    print(f"metagpt logs: {path} is not a run summary ({shown}); it is not shown", file=sys.stderr)
    return None


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
        figure(exchange.get("cached_tokens"), "{:,.0f}"),
        f"{float(exchange.get('latency_s') or 0):.2f}",
        figure(exchange.get("first_token_s"), "{:.2f}"),
        figure(exchange.get("tokens_per_s"), "{:.1f}"),
        str(exchange.get("retries", 0)),
        ", ".join(exchange.get("repairs") or []) or "-",
        str(exchange.get("outcome", "ok")),
    ]


def format_table(exchanges: list[dict[str, Any]], *, width: int | None = None) -> str:
    """The calls, one a row (rich lays the table out); with `width`, columns give way with an ellipsis until the
    table fits. A record of several runs gets one table per run, each under a `-- run ID` line."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    runs: dict[Any, list[dict[str, Any]]] = {}
    for exchange in exchanges:
        runs.setdefault(exchange.get("run"), []).append(exchange)
    out = io.StringIO()
    console = Console(file=out, width=width or 10_000, color_system=None, highlight=False, soft_wrap=False)
    for run, calls in runs.items():
        if len(runs) > 1:
            console.print(Text(f"-- run {run}"))
        # Two spaces between columns and none at the edges: fourteen columns still fit a 100-column terminal.
        table = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0), header_style="")
        for name in _COLUMNS:
            # The call number never gives way: it is what `--call N` takes.
            table.add_column(
                name,
                no_wrap=True,
                overflow="ellipsis",
                max_width=_WIDEST.get(name),
                min_width=3 if name == "#" else None,
            )
        for exchange in calls:
            # Model text is shown as text: a `[bold]` in a subject is not rich markup.
            table.add_row(*(Text(value) for value in table_row(exchange)))
        console.print(table)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())


def _clip(value: str, width: int | None) -> str:
    if width is None or len(value) <= width:
        return value
    return value[: max(0, width - 1)] + "…" if width > 0 else ""


def _clip_long(text: str, truncate: bool) -> str:
    if not truncate or len(text) <= TRUNCATED_CHARS:
        return text
    return text[:TRUNCATED_CHARS] + f"… [{len(text) - TRUNCATED_CHARS:,} more characters; drop --truncate]"


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
    lines += usage_lines(summary)
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


def format_call(exchange: dict[str, Any], *, truncate: bool = False) -> str:
    subject = f" {exchange['subject']}" if exchange.get("subject") else ""
    lines = [
        f"Call {exchange.get('seq')} of run {exchange.get('run')}: {exchange.get('role')} "
        f"{exchange.get('action')}{subject}",
        f"Model:    {exchange.get('model')} via {exchange.get('provider')} (output mode "
        f"{exchange.get('output_mode', 'prompt')})",
        f"Finish:   {exchange.get('finish_reason')}",
        f"Usage:    {exchange.get('prompt_tokens', 0)} prompt + {exchange.get('completion_tokens', 0)} completion"
        f" tokens{' (estimated)' if exchange.get('usage_estimated') else ''}, ${float(exchange.get('cost') or 0):.6f}",
        f"Latency:  {float(exchange.get('latency_s') or 0):.2f}s, {exchange.get('retries', 0)} retries; "
        f"TTFT {figure(exchange.get('first_token_s'), '{:.2f}')}s, prompt read "
        f"{figure(exchange.get('prompt_s'), '{:.2f}')}s, {figure(exchange.get('tokens_per_s'), '{:.1f}')} tok/s, "
        f"{figure(exchange.get('cached_tokens'), '{:,.0f}')} prompt tokens from the server's cache",
        f"Repairs:  {', '.join(exchange.get('repairs') or []) or 'none'}",
        f"Outcome:  {exchange.get('outcome', 'ok')}",
    ]
    for message in exchange.get("messages") or []:
        lines += ["", f"--- {message.get('role', '?')} ---", _clip_long(str(message.get("content", "")), truncate)]
    if exchange.get("reasoning"):
        lines += ["", "--- reasoning (from the server's reasoning field) ---", str(exchange["reasoning"])]
    lines += ["", "--- answer (raw) ---", _clip_long(str(exchange.get("answer", "")), truncate)]
    return "\n".join(lines)
