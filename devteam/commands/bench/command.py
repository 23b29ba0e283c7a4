"""`metagpt bench [IDEAS.txt] [--config A.yaml --config B.yaml ...]`: load the configs, lock the folder, run,
report. The common flags mean what they mean for a run: `--model` over every config, `--workspace` the bench
folder, `--plain` accepted (the bench never draws a live view: each project's progress goes to its log)."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from devteam.commands.bench.project_tags import tagged_console
from devteam.commands.bench.report import format_tables, write_chart, write_csv, write_json
from devteam.commands.bench.runner import BenchSettings, Contender, run_bench_stoppable
from devteam.commands.bench.state import STATE, BenchBusyError, lock_bench_folder, read_state
from devteam.commands.bench.suite import Idea, load_ideas
from devteam.commands.first_run import no_config_help
from devteam.commands.model_setup import load_user_config
from devteam.config.settings import ConfigNotFoundError
from devteam.core.errors import ConfigError, WorkspaceError
from devteam.core.exit_codes import EXIT_OK, EXIT_USAGE
from devteam.core.redaction import Redactor, redact_console

BENCH_FOLDER = "bench"


def load_contenders(paths: list[Path], *, model: str | None = None) -> list[Contender]:
    """One contender per --config (each merged over the default locations), or the default config alone;
    `--model` replaces the model of each."""
    contenders: list[Contender] = []
    candidates: list[Path | None] = [*paths] or [None]
    for path in candidates:
        try:
            config = load_user_config(path, model=model, env=os.environ, cwd=Path.cwd(), home=Path.home(), ask=None)
        except ConfigNotFoundError as missing:
            raise ConfigError(no_config_help(missing.looked_at)) from None
        label = _label(config.llm.model or (path.stem if path else "default"), path, contenders)
        contenders.append(Contender(label, config, str(path) if path else "default config"))
    return contenders


def _label(name: str, path: Path | None, taken: list[Contender]) -> str:
    label = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_.") or "model"
    used = {c.label for c in taken}
    if label in used and path is not None:
        label = f"{label}_{re.sub(r'[^A-Za-z0-9._-]+', '_', path.stem)}"
    suffix = 2
    base = label
    while label in used:
        label, suffix = f"{base}_{suffix}", suffix + 1
    return label


def run_bench_command(args: argparse.Namespace, *, stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    if args.concurrency is not None and args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if args.qa_rounds < 0:
        raise ConfigError("--qa-rounds must be 0 or more")
    ideas = load_ideas(args.ideas)
    contenders = load_contenders(list(args.config or []), model=getattr(args, "model", None))
    redactor = Redactor([secret for c in contenders for secret in c.config.secrets()])
    redact_console(redactor)
    workspace = Path(args.workspace or Path(contenders[0].config.workspace) / BENCH_FOLDER).expanduser()
    try:
        workspace.mkdir(parents=True, exist_ok=True)
        lock = lock_bench_folder(workspace)
    except BenchBusyError as busy:
        print(f"metagpt bench: {busy}", file=sys.stderr)
        return EXIT_USAGE
    except (OSError, WorkspaceError) as error:
        raise ConfigError(f"cannot use {workspace} as the bench folder: {error}") from None
    try:
        return _run_locked(args, ideas, contenders, workspace, out, redactor)
    finally:
        lock.release()


def _run_locked(
    args: argparse.Namespace,
    ideas: list[Idea],
    contenders: list[Contender],
    workspace: Path,
    out: TextIO,
    redactor: Redactor,
) -> int:
    settings = BenchSettings(
        workspace=workspace,
        concurrency=args.concurrency,
        qa_rounds=args.qa_rounds,
        code_review=args.code_review,
        investment=args.investment,
        retry_failed=getattr(args, "retry_failed", True),
    )
    sources = {c.label: c.source for c in contenders}

    def announce(line: str) -> None:
        print(redactor.text(f"bench: {line}"), file=out, flush=True)

    announce(f"{len(ideas)} ideas x {len(contenders)} model(s), into {workspace}")
    earlier = read_state(workspace)
    for notice in earlier.notices:
        announce(notice)
    saved: list[dict[str, Any]] = []

    def save(rows: list[dict[str, Any]]) -> None:
        saved[:] = rows
        write_json(workspace / STATE, rows, sources)

    with tagged_console():
        rows, stop = asyncio.run(
            run_bench_stoppable(contenders, ideas, settings, earlier=earlier.rows, save=save, announce=announce)
        )
    if rows is None:
        print(
            f"\nbench: stopped by {stop.describe()}; the {len(saved)} finished projects are kept in "
            f"{workspace / STATE}. Run the same command again to continue.",
            file=sys.stderr,
        )
        return stop.exit_code
    save(rows)
    write_csv(workspace / "bench.csv", rows)
    print("", file=out)
    print(format_tables(rows, sources), file=out)
    missing_chart = write_chart(workspace / "bench.png", rows)
    written = [STATE, "bench.csv"] + ([] if missing_chart else ["bench.png"])
    print(f"Wrote {', '.join(str(workspace / name) for name in written)}", file=out)
    if missing_chart:
        print(f"No chart: {missing_chart}", file=out)
    print(f"Projects: {workspace}/<model>/<project> (progress logs in {workspace}/<model>/logs/)", file=out)
    return EXIT_OK
