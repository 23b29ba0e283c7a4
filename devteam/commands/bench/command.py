"""`metagpt bench [IDEAS.txt] [--config A.yaml --config B.yaml ...]`: load the configs, run, report."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any, TextIO

from devteam.commands.bench.report import format_tables, write_chart, write_csv, write_json
from devteam.commands.bench.runner import STATE, BenchSettings, Contender, load_results, run_bench_stoppable
from devteam.commands.bench.suite import load_ideas
from devteam.commands.first_run import no_config_help
from devteam.config.settings import ConfigNotFoundError, load_config
from devteam.core.errors import ConfigError
from devteam.core.exit_codes import EXIT_OK

BENCH_FOLDER = "bench"


def load_contenders(paths: list[Path]) -> list[Contender]:
    """One contender per --config (each merged over the default locations), or the default config alone."""
    contenders: list[Contender] = []
    for path in paths or [None]:
        try:
            config = load_config(path, cwd=Path.cwd(), home=Path.home(), env=os.environ)
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
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if args.qa_rounds < 0:
        raise ConfigError("--qa-rounds must be 0 or more")
    ideas = load_ideas(args.ideas)
    contenders = load_contenders(list(args.config or []))
    workspace = Path(args.workspace or Path(contenders[0].config.workspace) / BENCH_FOLDER).expanduser()
    workspace.mkdir(parents=True, exist_ok=True)
    settings = BenchSettings(
        workspace=workspace,
        concurrency=args.concurrency,
        qa_rounds=args.qa_rounds,
        code_review=args.code_review,
        investment=args.investment,
    )
    sources = {c.label: c.source for c in contenders}
    print(
        f"bench: {len(ideas)} ideas x {len(contenders)} model(s), {args.concurrency} at a time, into {workspace}",
        file=out,
        flush=True,
    )

    def save(rows: list[dict[str, Any]]) -> None:
        write_json(workspace / STATE, rows, sources)

    def announce(line: str) -> None:
        print(f"bench: {line}", file=out, flush=True)

    rows, stop = asyncio.run(run_bench_stoppable(contenders, ideas, settings, save=save, announce=announce))
    if rows is None:
        done = len(load_results(workspace))
        print(
            f"\nbench: stopped by {stop.describe()}; the {done} finished projects are kept in "
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
