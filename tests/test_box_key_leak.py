"""Keys leave through no door: a generated test that goes looking for the user's key — the environment, its parents'
environments, `~/.metagpt/config2.yaml` by absolute path — and prints what it found before failing. The real
`metagpt --run-tests` against a scripted server; the key must reach no QA report, no FixCode prompt (the record and
the wire), no commit and no console line, in the bubblewrap box and without one (`--qa-unsafe`, where the loot is
real and only the redactor stands between it and the doors)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from cli_runner import clean_env, run_metagpt
from fakes import OpenAIServer
from scripted_qa import ScriptedQaCompany

IDEA = "write a snake game"
# Shaped like no known key format, so only the run's own Redactor (built from the config) can catch it.
KEY = "Zq8vLeakyTokenX4f1c9a7e2b"

# A hostile test that passes for a test of the board (QA keeps no test that checks nothing of its module).
LOOTING_TEST = """\
import os

from snake.board import Board


def _ancestors():
    pid = os.getppid()
    while pid > 1:
        yield pid
        try:
            with open(f"/proc/{pid}/stat") as stat:
                pid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            return


def test_loot() -> None:
    found = ["LOOT-START"]
    found += [f"env {name}={value}" for name, value in os.environ.items() if "KEY" in name]
    for pid in _ancestors():
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                found += ["parent " + entry.decode() for entry in environ.read().split(b"\\0") if b"KEY" in entry]
        except OSError as error:
            found.append(f"parent {pid}: {error.strerror}")
    for path in (CONFIG_PATHS):
        try:
            with open(path) as config:
                found.append(f"file {path}: " + config.read())
        except OSError as error:
            found.append(f"file {path}: {error.strerror}")
    print("\\n".join(found))
    assert Board().score == -1, "looted"
"""


def _configure(tmp_path: Path, server: OpenAIServer, key_from: str) -> tuple[dict[str, str], list[Path]]:
    """The user's config in their home folder; the key in it, or in the environment it names."""
    home = tmp_path / "home"
    user_config = home / ".metagpt" / "config2.yaml"
    user_config.parent.mkdir(parents=True)
    llm = {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "num_retries": 1}
    llm["api_key"] = KEY if key_from == "file" else "${SNAKE_LLM_KEY}"
    user_config.write_text(yaml.safe_dump({"llm": llm}))
    env = clean_env(home, SNAKE_LLM_KEY=KEY) if key_from == "env" else clean_env(home)
    return env, [user_config]


def _everything_that_came_out(root: Path, result_output: str, server: OpenAIServer) -> dict[str, str]:
    """Every door: the project's files (reports, code, record), its whole history, the console, the wire."""
    doors = {"console": result_output}
    for path in root.rglob("*"):
        if path.is_file() and ".git" not in path.relative_to(root).parts:
            doors[str(path.relative_to(root))] = path.read_text(errors="replace")
    history = subprocess.run(
        ["git", "log", "--all", "-p", "--format=%an %s%n%b"], cwd=root, capture_output=True, text=True, check=True
    )
    doors["git log -p"] = history.stdout
    doors["requests"] = "\n".join(str(request.json) for request in server.chat_requests)
    return doors


@pytest.mark.parametrize("box", ["bubblewrap", "unsafe"])
@pytest.mark.parametrize("key_from", ["file", "env"])
def test_a_looting_test_leaks_the_key_through_no_door(
    tmp_path: Path, openai_server: OpenAIServer, box: str, key_from: str
) -> None:
    env, config_paths = _configure(tmp_path, openai_server, key_from)
    looting = LOOTING_TEST.replace("CONFIG_PATHS", repr([*map(str, config_paths), "/root/.metagpt/config2.yaml"]))
    company = ScriptedQaCompany(fixes={}, tests={"snake/board.py": looting})
    openai_server.set_handler(company)
    args = [IDEA, "--no-code-review", "--run-tests", "--qa-rounds", "1", "--project-name", "snake"]

    result = run_metagpt([*args, "--qa-unsafe"] if box == "unsafe" else args, cwd=tmp_path, env=env, timeout=240)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "snake"
    report = (root / "docs" / "qa" / "round_1.md").read_text()
    assert "LOOT-START" in report, report  # the attack ran, and its output is in the report
    assert company.prompts.get("FixCode"), "the failure never reached FixCode"
    assert "LOOT-START" in company.prompts["FixCode"][0]
    leaks = [
        door for door, text in _everything_that_came_out(root, result.output, openai_server).items() if KEY in text
    ]
    assert leaks == [], leaks
    if box == "bubblewrap":  # the box shows neither the user's files nor anyone's environment
        assert f"file {config_paths[0]}: No such file" in report and "parent " not in report, report
    elif key_from == "file":  # without a box the file was read: the redactor is what kept the key in
        assert f"file {config_paths[0]}: llm:" in report and "[REDACTED]" in report, report
    else:  # the program's environment is built empty, and its /proc shows no process of the run
        assert "env SNAKE_LLM_KEY" not in report and "parent " not in report, report
