"""`metagpt` / `devteam`: argument parsing, logging set-up, messages and exit codes; no business logic.

Exit codes: 0 done, 1 a run that could not finish, 2 a config or usage error, 130 interrupted (Ctrl-C),
141 the reader of the output went away (`| head`), 143 stopped by SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from devteam import __version__
from devteam.commands.dialect import metagpt_forms
from devteam.core.errors import ConfigError, DevteamError
from devteam.core.exit_codes import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE
from devteam.core.untrusted_text import EscapingStream

SUBCOMMANDS = ("check", "logs", "demo", "help", "bench")

LOGS_EXAMPLES = """examples:
  metagpt logs                          the most recent project's calls and summary
  metagpt logs workspace/snake_game -n 3   the last three calls
  metagpt logs -q 'requirement_analysis'   calls whose prompt or answer mentions it
  metagpt logs --call 2                 call 2 in full: messages, raw answer, repairs
  metagpt logs -r -n 1                  just the last answer
  metagpt logs path                     where the record is"""


class UsageError(DevteamError):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse prints and exits on errors; we raise so every usage error ends as exit code 2 our way."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


RUN_EPILOG = """examples:
  metagpt "write a snake game"                      PRD, design and code into workspace/<project>/ (git)
  metagpt "write a snake game" --replay snake       the offline demo: a recorded run, no model needed
  metagpt "write a todo app" --project-name todo --max-concurrency 1 --no-code-review
  metagpt "add a high-score table" --project-path workspace/snake_game --inc
  metagpt "write a snake game" --project-name snake_game --resume    continue a stopped run
  metagpt "write a snake game" --run-tests          then QA: tests and a smoke run, sandboxed; failures fixed
  metagpt check                                      is the model reachable, answering JSON, and how fast?
  metagpt logs -n 5                                  the last five LLM calls of the most recent run

subcommands (each has --help):
  check [--config PATH] [--no-speed]
                             one structured round trip through the configured LLM, then its speed and the
                             time a project takes there; exit 0 ok, 1 not
  logs [PROJECT] [-n N] [-q TEXT] [-r] [--call N] [--full] [-t] [--json] [--workspace DIR]
                             the LLM calls of a run; 'metagpt logs path' prints where the record is
  bench [IDEAS.txt] [--config A.yaml --config B.yaml ...] [--concurrency N] [--no-retry-failed]
                             a suite of ideas through each model with QA on: a table per model, bench.json/.csv/.png
  demo                       the offline demo (same as --replay snake)
  help                       this text

options anywhere on the line:
  -v, --verbose              show the log on stderr, with every repair_... line as it fires

config (merged deeply, later wins): ~/.metagpt/config2.yaml, ./config/config2.yaml, --config PATH
  metagpt --init-config writes a commented ~/.metagpt/config2.yaml (never over an existing one)
environment: OPENAI_API_KEY, OPENAI_BASE_URL (or OPENAI_API_BASE), OLLAMA_HOST, LLM_NUM_RETRIES,
  LLM_RETRY_MIN_WAIT, LLM_RETRY_MAX_WAIT, LLM_RETRY_MULTIPLIER; ${VAR} and ${VAR:-default} in config values

MetaGPT flags accepted: --n-round, --implement/--no-implement, --recover-path (= --project-path ... --resume),
  --reqa-file, --max-auto-summarize-code, --code_review; those with no meaning here warn once and are ignored.

exit codes: 0 done; 1 a run that could not finish; 2 a config or usage error; 130 Ctrl-C; 143 SIGTERM"""

# MetaGPT's flags that mean nothing in this pipeline: accepted so a MetaGPT command line runs, with one warning.
IGNORED_METAGPT_FLAGS = {
    "n_round": ("--n-round", "the pipeline runs each stage once, in order; there are no rounds to count"),
    "reqa_file": ("--reqa-file", "re-running QA on one file is not supported"),
    "max_auto_summarize_code": ("--max-auto-summarize-code", "devteam does not summarise code between files"),
}


def _run_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="metagpt",
        usage="metagpt [options] IDEA | metagpt {check,logs,bench,demo,help} ...",
        description="A software company of LLM roles: one line of idea in, a git repository out.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=RUN_EPILOG,
    )
    parser.add_argument("idea", nargs="?", help='what to build, e.g. "write a snake game"')
    parser.add_argument("--config", type=Path, help="config2.yaml to use (merged over the default locations)")
    parser.add_argument(
        "-m",
        "--model",
        help="the model to use (over the config's llm.model); with --init-config, the model to write a config for",
    )
    parser.add_argument("--workspace", type=Path, help="folder for projects (default: config 'workspace')")
    parser.add_argument("--project-name", help="project folder name (default: from the PRD)")
    parser.add_argument("--project-path", type=Path, help="exact project folder (for --inc / --resume)")
    parser.add_argument("--investment", type=investment_usd, default=3.0, help="budget in USD (default 3.0)")
    parser.add_argument(
        "--code-review",
        "--code_review",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="review each file after writing it (default on)",
    )
    parser.add_argument(
        "--implement",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write the code (--no-implement stops after the PRD and the design)",
    )
    parser.add_argument("--max-concurrency", type=int, help="files written at once (default: config, 4)")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted run of --project-name")
    parser.add_argument("--inc", action="store_true", help="build on an existing project with new commits")
    parser.add_argument(
        "--run-tests",
        action="store_true",
        default=None,
        help="QA: write tests if the plan has none, run them and the program (sandboxed), "
        "hand failures to the Engineer (also `qa: true` in config2.yaml)",
    )
    parser.add_argument("--qa-rounds", type=int, default=2, help="fix rounds QA may ask for (default 2)")
    parser.add_argument(
        "--fix-candidates",
        type=int,
        help="fixes asked per function, file or test and QA round while none scores better by the tests, and "
        "versions of each test file QA writes while its tests fail (default 3; 1: one of each)",
    )
    parser.add_argument(
        "--qa-install",
        action="store_true",
        help="QA installs requirements.txt into a virtualenv in the project (.venv) first, inside the box, wheels only",
    )
    parser.add_argument(
        "--qa-allow-sdist",
        action="store_true",
        help="--qa-install may build source packages (their setup.py runs, inside the box)",
    )
    parser.add_argument(
        "--qa-unsafe",
        action="store_true",
        help="run generated code even where no sandbox (bubblewrap) is available (also `qa_sandbox: none`)",
    )
    parser.add_argument(
        "--plain",
        action="store_true",
        help="one line per event, no live view (the default when stderr is not a terminal)",
    )
    parser.add_argument(
        "--show-text",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on a terminal, show the last lines of each answer as it streams in (default on)",
    )
    parser.add_argument("--replay", type=Path, help="answer every LLM call from a recorded run (no network)")
    parser.add_argument("--init-config", action="store_true", help="write a commented ~/.metagpt/config2.yaml")
    parser.add_argument(
        "--recover-path",
        type=Path,
        metavar="PROJECT",
        help="MetaGPT's way to resume: the same as --project-path PROJECT --resume",
    )
    metagpt_only = parser.add_argument_group("MetaGPT flags with no meaning here (a warning, then ignored)")
    metagpt_only.add_argument("--n-round", type=int, help=argparse.SUPPRESS)
    metagpt_only.add_argument("--reqa-file", help=argparse.SUPPRESS)
    metagpt_only.add_argument("--max-auto-summarize-code", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"devteam {__version__}")
    return parser


# Where the project is, and what kind of run, is said by the resume command itself.
_NOT_REPEATED = frozenset(
    {
        "idea",
        "project_name",
        "project_path",
        "recover_path",
        "workspace",
        "resume",
        "inc",
        "init_config",
        "help",
        "version",
        *IGNORED_METAGPT_FLAGS,
    }
)


def given_options(parser: argparse.ArgumentParser, args: argparse.Namespace, *, verbose: bool) -> list[str]:
    """The options of this run that differ from their defaults, as a command line that means the same from
    any folder (paths made absolute): what a resume command must carry to continue the same run."""
    words: list[str] = []
    for action in parser._actions:
        if action.dest in _NOT_REPEATED or not action.option_strings:
            continue
        value = getattr(args, action.dest, None)
        if value is None or value == action.default:
            continue
        flag = action.option_strings[0]
        if isinstance(action, argparse.BooleanOptionalAction):
            words.append(flag if value else f"--no-{flag.removeprefix('--')}")
        elif isinstance(action, argparse._StoreTrueAction) or value is True:
            words.append(flag)
        elif isinstance(value, Path):
            words += [flag, os.path.abspath(value.expanduser())]
        else:
            words += [flag, str(value)]
    return [*words, "-v"] if verbose else words


def _common_flags(parser: argparse.ArgumentParser, *, model_help: str, workspace_help: str) -> None:
    """The flags every subcommand takes, so a line that works for one works for the others (-v is global)."""
    parser.add_argument("--config", type=Path, help="config2.yaml to use (merged over the default locations)")
    parser.add_argument("-m", "--model", help=model_help)
    parser.add_argument("--workspace", type=Path, help=workspace_help)
    parser.add_argument("--plain", action="store_true", help="plain lines, no live view or colours")


def _check_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="metagpt check",
        description="Check the configured LLM with one structured round trip, and measure its speed.",
    )
    _common_flags(
        parser,
        model_help="the model to check (over the config's llm.model)",
        workspace_help="accepted for a command line shared with a run; check writes nothing there",
    )
    parser.add_argument(
        "--no-speed", dest="speed", action="store_false", help="skip the speed measurement (one short call)"
    )
    return parser


def _logs_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="metagpt logs",
        description="Show the LLM calls of a run: a table of calls and the run's summary.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=LOGS_EXAMPLES,
    )
    parser.add_argument(
        "project",
        nargs="?",
        type=Path,
        help="project folder, its .devteam/ or the exchanges file (default: the most recent "
        "project in the workspace); 'path' prints where the record is",
    )
    _common_flags(
        parser,
        model_help="only the calls answered by this model",
        workspace_help="where to look for the most recent project",
    )
    parser.add_argument("-n", "--count", type=int, metavar="N", help="only the last N calls")
    parser.add_argument(
        "-q",
        "--query",
        action="append",
        metavar="TEXT",
        help="only calls whose prompt or answer contains TEXT (repeat to narrow)",
    )
    parser.add_argument("-r", "--response", action="store_true", help="print just the answers")
    parser.add_argument("--call", type=int, metavar="N", help="show call N in full (paged on a terminal)")
    parser.add_argument("--full", action="store_true", help="show every selected call in full")
    parser.add_argument("-t", "--truncate", action="store_true", help="clip long prompts and answers")
    parser.add_argument("--json", action="store_true", help="print the raw records")
    parser.add_argument(
        "--timeline", action="store_true", help="draw the calls on a time axis: what ran in parallel, where time went"
    )
    return parser


def _bench_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="metagpt bench",
        description="Run a suite of ideas through one or more model configs with QA on; compare them.",
    )
    parser.add_argument(
        "ideas", nargs="?", type=Path, help="a file of ideas, one per line (default: the shipped suite)"
    )
    parser.add_argument("--config", type=Path, action="append", help="a model config; repeat to compare models")
    parser.add_argument("--workspace", type=Path, help="bench folder (default: <config workspace>/bench)")
    parser.add_argument("-m", "--model", help="the model to use (over each config's llm.model)")
    parser.add_argument("--plain", action="store_true", help="plain lines, no live view (the bench prints lines)")
    parser.add_argument(
        "--concurrency",
        type=int,
        help="the most projects run at once (default: what each server serves: its slots where it says, "
        "else 2, and 1 once it shows it serves one request at a time)",
    )
    parser.add_argument("--qa-rounds", type=int, default=2, help="QA fix rounds per project (default 2)")
    parser.add_argument("--code-review", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--retry-failed",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue the projects whose run failed in an earlier bench here (default on)",
    )
    parser.add_argument(
        "--investment", type=investment_usd, default=3.0, help="budget in USD per project (default 3.0)"
    )
    return parser


def investment_usd(text: str) -> float:
    """`--investment`: a finite amount of USD, 0 or more (a negative or NaN budget would stop nothing)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be an amount of USD, 0 or more (got {text!r})")
    return value


def _split_verbose(argv: Sequence[str]) -> tuple[list[str], bool]:
    """-v/--verbose is global: accepted anywhere on the command line."""
    rest = [arg for arg in argv if arg not in ("-v", "--verbose")]
    return rest, len(rest) != len(argv)


def _configure_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)-7s %(message)s"))
    # The console shows warnings (INFO with -v); the logger itself passes INFO, for the run record's run.log.
    handler.setLevel(logging.INFO if verbose else logging.WARNING)
    root = logging.getLogger("devteam")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; output cut short by its reader (`metagpt logs | head`) ends quietly, not in a traceback."""
    # Model text reaches the console in progress lines, log lines, errors and `metagpt logs`: whatever is
    # printed has its control and bidi characters escaped, so an answer cannot drive the terminal.
    console = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = EscapingStream(sys.stdout), EscapingStream(sys.stderr)  # type: ignore[assignment]
    try:
        code = _main(argv)
        sys.stdout.flush()  # inside the try: a pipe closed by the reader fails here, not at interpreter exit
        return code
    except BrokenPipeError:
        _stop_writing_to_closed_pipes()
        return EXIT_BROKEN_PIPE
    finally:
        sys.stdout, sys.stderr = console


def _stop_writing_to_closed_pipes() -> None:
    """Point stdout and stderr at /dev/null, so the interpreter's final flush has nowhere to fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):
            pass  # not a real file (pytest's capture, a StringIO): nothing will be flushed to a pipe
    os.close(devnull)


def _main(argv: Sequence[str] | None) -> int:
    args_list, verbose = _split_verbose(list(sys.argv[1:] if argv is None else argv))
    _configure_logging(verbose)
    try:
        if args_list and args_list[0] in SUBCOMMANDS:
            command, rest = args_list[0], args_list[1:]
            if command == "help":
                return _help(rest)
            if command == "demo":
                args_list = ["write a snake game", "--replay", "snake", *rest]
                command = ""
            elif command == "check":
                from devteam.commands.check import run_check_command

                return run_check_command(_parse(_check_parser(), rest), verbose=verbose)
            elif command == "bench":
                from devteam.commands.bench.command import run_bench_command

                return run_bench_command(_parse(_bench_parser(), rest))
            else:
                from devteam.commands.logs import run_logs_command

                return run_logs_command(_parse(_logs_parser(), rest))
        parser = _run_parser()
        args = _parse(parser, args_list)
        _apply_metagpt_flags(args)
        args.given_options = given_options(parser, args, verbose=verbose)
        if args.init_config:
            return _init_config(args.model)
        if not args.idea or not args.idea.strip():
            raise UsageError('give an idea, e.g. metagpt "write a snake game" (or --help)')
        from devteam.commands.run import run_idea_command

        return run_idea_command(args)
    except UsageError as error:
        print(f"metagpt: {error}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as error:
        print(f"metagpt: config error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nmetagpt: interrupted; committed work is kept.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _parse(parser: argparse.ArgumentParser, words: Sequence[str]) -> argparse.Namespace:
    """MetaGPT's spellings (`--code_review False`, `--run_tests`) read as ours, for every subcommand."""
    return parser.parse_args(metagpt_forms(words, parser))


def _help(topic: Sequence[str]) -> int:
    """`metagpt help` (MetaGPT users type it) and `metagpt help logs`: help, never an idea to build."""
    parsers = {"check": _check_parser, "logs": _logs_parser, "bench": _bench_parser}
    parser = parsers.get(topic[0], _run_parser)() if topic else _run_parser()
    parser.print_help()
    return EXIT_OK


def _apply_metagpt_flags(args: argparse.Namespace) -> None:
    for name, (flag, why) in IGNORED_METAGPT_FLAGS.items():
        if getattr(args, name, None) is not None:
            logging.getLogger("devteam.cli").warning("%s is ignored: %s", flag, why)
    if args.recover_path is not None:
        if args.project_path is not None and args.project_path != args.recover_path:
            raise UsageError("--recover-path and --project-path name different projects; give one of them")
        args.project_path, args.resume = args.recover_path, True


def _init_config(model: str | None) -> int:
    home = Path(os.path.expanduser("~"))
    if model is not None:
        from devteam.commands.model_setup import init_config_for_model

        path, server = init_config_for_model(model, env=os.environ, home=home)
        print(f"Wrote {path} for {model} on {server.label}. Next: metagpt check")
        return EXIT_OK
    from devteam.config.settings import init_config

    path = init_config(home)
    print(f"Wrote {path}. Edit the llm: block (api_type, base_url, model), then run: metagpt check")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
