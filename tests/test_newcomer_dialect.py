"""One dialect: every subcommand takes the common flags, MetaGPT's value forms are read as ours, an environment
variable the config overrides is named, and `metagpt logs --timeline` draws a run's calls on a time axis."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_runner import clean_env, run_metagpt, write_config
from fakes import OpenAIServer, Text
from scripted_company import ScriptedCompany

from devteam.cli import _bench_parser, _check_parser, _logs_parser, _parse, _run_parser

IDEA = "write a tic-tac-toe game"
COMMON = ["--plain", "--config", "c.yaml", "--model", "m", "--workspace", "ws"]


@pytest.mark.parametrize("parser", [_run_parser, _check_parser, _logs_parser, _bench_parser])
def test_every_subcommand_takes_the_common_flags(parser) -> None:  # type: ignore[no-untyped-def]
    args = _parse(parser(), COMMON)
    assert args.plain is True and args.model == "m" and str(args.workspace) == "ws"


@pytest.mark.parametrize(
    ("words", "code_review", "run_tests", "inc"),
    [
        (["--code_review", "False"], False, None, False),
        (["--code_review=false", "--run_tests"], False, True, False),
        (["--run-tests", "True", "--inc", "no"], True, True, False),
        (["--no-code-review", "false"], True, None, False),
    ],
)
def test_metagpt_value_forms_read_as_ours(
    words: list[str], code_review: bool, run_tests: bool | None, inc: bool
) -> None:
    args = _parse(_run_parser(), [IDEA, *words, "--n_round", "5", "--project_name", "p"])
    assert (args.code_review, args.run_tests, args.inc) == (code_review, run_tests, inc)
    assert args.n_round == 5 and args.project_name == "p" and args.idea == IDEA


def test_a_value_that_is_not_a_boolean_is_still_a_usage_error(tmp_path: Path) -> None:
    result = run_metagpt([IDEA, "--code_review=maybe"], cwd=tmp_path)
    assert result.code == 2 and "--code-review" in result.stderr and "Traceback" not in result.output


def test_logs_and_check_accept_the_common_flags_end_to_end(tmp_path: Path) -> None:
    logs = run_metagpt(["logs", "--plain", "-m", "x", "--workspace", "nowhere"], cwd=tmp_path)
    assert logs.code == 1 and "no project with a run record" in logs.stderr, logs.output  # not a usage error


def test_an_environment_variable_the_config_overrides_is_named(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    config = write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    env = clean_env(tmp_path / "home", OPENAI_BASE_URL="http://127.0.0.1:9/v1", OLLAMA_HOST="127.0.0.1:11434")

    openai_server.enqueue(Text('{"greeting": "hello", "numbers": [1, 2], "ok": true}'))
    check = run_metagpt(["check", "--plain"], cwd=tmp_path, env=env)
    run = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path, env=env)

    assert run.code == 0 and check.code == 0, run.output + check.output
    header = run.stderr.split("ProductManager")[0]
    where = re.escape(str(config))
    assert re.search(
        rf"note\s+OPENAI_BASE_URL is set but not used: the config names base_url itself \(in {where}", header
    )
    assert re.search(r"note\s+OLLAMA_HOST is set but not used: the config selects api_type open_llm", header)
    assert "OPENAI_BASE_URL is set but not used" in check.stderr


def test_nothing_is_noted_when_the_variable_decides(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.set_handler(ScriptedCompany())
    env = clean_env(tmp_path / "home", OPENAI_BASE_URL=openai_server.base_url)
    write_config(tmp_path, {"api_type": "open_llm", "model": "m"})

    result = run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path, env=env)

    assert result.code == 0, result.output
    assert "not used" not in result.stderr


def test_logs_timeline_draws_the_calls_on_a_time_axis(tmp_path: Path) -> None:
    demo = run_metagpt(["demo", "--plain"], cwd=tmp_path)
    assert demo.code == 0, demo.output

    result = run_metagpt(["logs", "--timeline"], cwd=tmp_path)

    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.match(r"\d+ calls over [\d.]+s, at most \d+ at once", lines[1]), result.stdout
    assert lines[2].strip().startswith("0s")  # the axis
    bars = [line for line in lines[3:] if "█" in line]
    assert len(bars) == int(lines[1].split()[0])  # one bar per call
    assert any("ProductManager WritePRD" in line for line in bars)
    # Calls that ran one after the other start where the one before ended: the bars move right.
    starts = [line.index("█") for line in bars]
    assert starts == sorted(starts) and starts[-1] > starts[0]
