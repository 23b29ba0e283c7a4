"""The resume command printed after a stop continues the same run: copied as printed, from another folder, it
finds the same config, project, record and options."""

from __future__ import annotations

import shlex
from pathlib import Path

from cli_runner import run_metagpt, write_config
from fakes import Error, OpenAIServer, RecordedRequest, Reply
from scripted_company import ScriptedCompany

from devteam.cli import _run_parser, given_options

IDEA = "write a tic-tac-toe game"


def _resume_words(stderr: str) -> list[str]:
    line = next(line for line in stderr.splitlines() if "Resume with: " in line)
    return shlex.split(line.split("Resume with: ", 1)[1])


def test_the_printed_resume_command_carries_every_option(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedCompany()

    def dies_at_main(request: RecordedRequest) -> Reply:
        if "Write the complete file `tictactoe/__main__.py`" in str(request.json):
            return Error(500, message="model worker crashed")
        return company(request)

    openai_server.set_handler(dies_at_main)
    config = write_config(
        tmp_path / "settings", {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"}
    )
    here = tmp_path / "here"
    here.mkdir()
    first = run_metagpt(
        [
            IDEA,
            "--config",
            str(config),
            "--workspace",
            "ws",
            "--max-concurrency",
            "2",
            "--no-code-review",
            "--investment",
            "5",
            "--project-name",
            "My Game",
        ],
        cwd=here,
    )
    assert first.code == 1, first.output

    words = _resume_words(first.stderr)
    assert words[:2] == ["metagpt", IDEA] and words[-1] == "--resume"
    for option in (
        ["--config", str(config)],
        ["--max-concurrency", "2"],
        ["--investment", "5.0"],
        ["--project-name", "my_game"],
        ["--workspace", str(here / "ws")],
    ):
        assert " ".join(option) in " ".join(words), (option, words)
    assert "--no-code-review" in words

    openai_server.set_handler(company)
    company.calls.clear()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = run_metagpt(words[1:], cwd=elsewhere)  # copied as printed, from another folder

    assert resumed.code == 0, resumed.output
    assert company.calls == ["tictactoe/__main__.py"]  # same project, no review: exactly the missing file
    assert (here / "ws" / "my_game" / "tictactoe" / "__main__.py").is_file()


def test_given_options_round_trip_through_the_parser(tmp_path: Path) -> None:
    parser = _run_parser()
    argv = [
        "an idea",
        "--config",
        "c.yaml",
        "--replay",
        "rec/exchanges.jsonl",
        "--max-concurrency",
        "3",
        "--no-code-review",
        "--investment",
        "0.5",
        "--run-tests",
        "--qa-rounds",
        "1",
        "--qa-install",
        "--workspace",
        "w",
        "--project-name",
        "p",
        "--inc",
    ]
    args = parser.parse_args(argv)

    words = given_options(parser, args, verbose=True)

    again = parser.parse_args(["an idea", *[word for word in words if word != "-v"]])  # -v is global
    for name in ("max_concurrency", "code_review", "investment", "run_tests", "qa_rounds", "qa_install"):
        assert getattr(again, name) == getattr(args, name), name
    assert again.config.is_absolute() and again.config.name == "c.yaml"
    assert again.replay.is_absolute() and again.replay.parts[-2:] == ("rec", "exchanges.jsonl")
    assert "-v" in words
    # The project's place and the kind of run are the resume command's own words, not repeated.
    assert not {"--workspace", "--project-name", "--inc", "--resume"} & set(words)
    assert given_options(parser, parser.parse_args(["an idea"]), verbose=False) == []
