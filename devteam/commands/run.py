"""`metagpt "IDEA"`: load the config, run the company, print the summary and the next thing to try."""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from devteam.commands.diagnosis import hint_for
from devteam.commands.first_run import no_config_help
from devteam.commands.model_setup import load_user_config, terminal_ask
from devteam.commands.summary_text import files_line, usage_lines
from devteam.config.settings import Config, ConfigNotFoundError, LLMConfig
from devteam.console.run_header import run_header
from devteam.console.run_notices import head_commit, notice_project_name, notice_replayed_idea, notice_unchanged
from devteam.core.errors import (
    BudgetExceededError,
    ConfigError,
    ContextWindowError,
    ProviderError,
    ReplayMismatchError,
    RunInterruptedError,
    WorkspaceError,
)
from devteam.core.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_TERMINATED, EXIT_USAGE
from devteam.core.redaction import Redactor, redact_console
from devteam.demos import shipped_record
from devteam.run.company import run_company
from devteam.run.options import RunOptions, RunOutcome
from devteam.run.stop_signals import StopRequest, install_stop_signals
from devteam.workspace.project import project_name_from


def load_run_config(args: argparse.Namespace) -> Config:
    model = getattr(args, "model", None)
    try:
        config = load_user_config(
            args.config, model=model, env=os.environ, cwd=Path.cwd(), home=Path.home(), ask=terminal_ask()
        )
    except ConfigNotFoundError as missing:
        if getattr(args, "replay", None) is None:
            raise ConfigError(no_config_help(missing.looked_at)) from None
        config = Config.model_validate({"llm": {"api_type": "replay"}})
    if getattr(args, "replay", None) is not None:
        config = config.with_replay(replay_path(args.replay))
    return config


def wants_live_view(args: argparse.Namespace) -> bool:
    """Spinners and redraws only for a person at a terminal; a pipe, a file, CI or `--plain` get lines."""
    if getattr(args, "plain", False) or os.environ.get("TERM") == "dumb":
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def replay_path(given: Path) -> Path:
    """A record file, or the short name of one shipped with the package (`--replay snake`)."""
    if given.exists():
        return given
    return shipped_record(str(given)) or given


def run_idea_command(args: argparse.Namespace) -> int:
    config = load_run_config(args)
    if args.max_concurrency is not None and args.max_concurrency < 1:
        raise ConfigError("--max-concurrency must be at least 1")
    if args.qa_rounds < 0:
        raise ConfigError("--qa-rounds must be 0 or more")
    fix_candidates = getattr(args, "fix_candidates", None)
    if fix_candidates is None:
        fix_candidates = RunOptions.fix_candidates
    if fix_candidates < 1:
        raise ConfigError("--fix-candidates must be 1 or more (1: one fix per file and round, as asked)")
    options = RunOptions(
        idea=args.idea,
        workspace=Path(args.workspace or config.workspace).expanduser(),
        project_name=args.project_name,
        project_path=args.project_path,
        investment=args.investment,
        code_review=args.code_review,
        max_concurrency=args.max_concurrency or config.max_concurrency,
        resume=args.resume,
        incremental=args.inc,
        run_tests=bool(args.run_tests or args.qa_install or config.qa),
        qa_rounds=args.qa_rounds,
        fix_candidates=fix_candidates,
        qa_install=args.qa_install,
        qa_sandbox=config.qa_sandbox,
        qa_unsafe=bool(getattr(args, "qa_unsafe", False)),
        qa_allow_sdist=bool(getattr(args, "qa_allow_sdist", False)),
        implement=args.implement,
        live_progress=wants_live_view(args),
        show_text=getattr(args, "show_text", True),
    )
    redactor = Redactor(config.secrets())
    redact_console(redactor)
    notice_project_name(args.project_name)
    if getattr(args, "replay", None) is not None and config.llm.replay_file:
        notice_replayed_idea(Path(config.llm.replay_file), args.idea)
    inc_root = (
        options.project_path or (options.workspace / project_name_from(options.project_name or ""))
        if options.incremental and (options.project_path or options.project_name)
        else None
    )
    inc_head = head_commit(inc_root)
    header = run_header(
        config,
        workspace=options.workspace,
        workspace_origin="from --workspace" if args.workspace else config.origin("workspace"),
        env=os.environ,
    )
    print(redactor.text("\n".join(header)), file=sys.stderr, flush=True)
    stop = StopRequest()
    outcome = asyncio.run(_run_stoppable(config, options, stop))
    if isinstance(outcome.error, ConfigError) and outcome.repo_root is None:
        raise outcome.error  # nothing ran (e.g. an unreadable --replay record): a config error, exit 2
    if outcome.repo_root is not None or outcome.ledger.calls or outcome.record_dir is not None:
        print_summary(outcome, sys.stdout)  # nothing ran (a usage error): just the message, no empty summary
    if options.incremental and outcome.error is None:
        notice_unchanged(outcome.repo_root, inc_head)
    if outcome.error is None:
        return EXIT_OK
    print(
        redactor.text(failure_paragraph(outcome, options, getattr(args, "given_options", []), config_llm=config.llm)),
        file=sys.stderr,
    )
    if isinstance(outcome.error, RunInterruptedError):
        return outcome.error.exit_code
    return EXIT_USAGE if isinstance(outcome.error, WorkspaceError) and outcome.repo_root is None else EXIT_FAILED


async def _run_stoppable(config: Config, options: RunOptions, stop: StopRequest) -> RunOutcome:
    """The run, with Ctrl-C and SIGTERM turned into a stop that commits what was answered."""
    task = asyncio.current_task()
    assert task is not None
    uninstall = install_stop_signals(stop, task)
    try:
        return await run_company(config, options, stop=stop)
    finally:
        uninstall()


def print_summary(outcome: RunOutcome, stream: TextIO) -> None:
    """What the run made and spent, from its summary (the same lines `metagpt logs` shows), and what to do next."""
    summary = outcome.summary
    print("", file=stream)
    if outcome.repo_root is not None:
        print(f"Project:  {outcome.repo_root}", file=stream)
    for line in [files_line(summary), *usage_lines(summary)]:
        print(line, file=stream)
    if outcome.record_dir is not None:
        print(f"Record:   {outcome.record_dir} (metagpt logs {outcome.repo_root or outcome.record_dir})", file=stream)
    if outcome.repo_root is not None and outcome.error is None:
        # After a stop the failure paragraph gives the one next step: the resume command.
        print(f"Next:     git -C {outcome.repo_root} log --oneline", file=stream)


def failure_paragraph(
    outcome: RunOutcome,
    options: RunOptions,
    given_options: Sequence[str] = (),
    *,
    config_llm: LLMConfig | None = None,
) -> str:
    error = outcome.error
    root = outcome.repo_root
    if isinstance(error, ReplayMismatchError):
        kept = f"\nWhat was made before the mismatch is committed in {root}." if root is not None else ""
        return f"metagpt: the replay does not match the record: {error}{kept}"
    if isinstance(error, RunInterruptedError):
        text = f"metagpt: stopped by {'SIGTERM' if error.exit_code == EXIT_TERMINATED else 'Ctrl-C'}."
    else:
        reasons: dict[type[BaseException], str] = {
            BudgetExceededError: "the budget stopped the run",
            ContextWindowError: "a prompt does not fit the model's context window",
            WorkspaceError: "the project folder could not be used",
        }
        reason = (
            reasons.get(type(error), "the run could not finish") if error is not None else "the run could not finish"
        )
        text = f"metagpt: {reason}: {error}"
    if isinstance(error, ProviderError) and config_llm is not None:
        text += f"\n{hint_for(error, config_llm)}"
    if root is not None:
        text += (
            f"\nEverything finished before the {'stop' if isinstance(error, RunInterruptedError) else 'failure'}"
            f" is committed in {root}.\nResume with: {resume_command(options, root, given_options)}"
        )
    return text


def resume_command(options: RunOptions, root: Path, given_options: Sequence[str] = ()) -> str:
    """The command that continues this run: the same project, and every option the run was given (config,
    replay record, concurrency, review, budget...), so it continues with the same model the same way."""
    if options.project_path is not None:
        where = ["--project-path", str(root)]
    else:
        where = ["--project-name", root.name, "--workspace", str(root.parent)]
    return shlex.join(["metagpt", options.idea, *where, *given_options, "--resume"])
