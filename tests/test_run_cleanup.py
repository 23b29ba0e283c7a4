"""A run leaves nothing running: the project's git processes are closed when run_company returns."""

from __future__ import annotations

import asyncio
import io
import os
from pathlib import Path

import pytest
from fakes import OpenAIServer
from fakes.base import Error, RecordedRequest, Reply
from scripted_company import ScriptedCompany

from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions


def git_children() -> set[int]:
    """Live `git` processes whose parent is this test process (gitpython's `cat-file --batch` helpers)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # ended while we looked
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == os.getpid() and command and os.path.basename(command[0]) == b"git":
            found.add(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads child processes from /proc")
@pytest.mark.parametrize("server_dies", [False, True], ids=["finished", "server-died-mid-run"])
def test_run_company_closes_the_project_repo(tmp_path: Path, openai_server: OpenAIServer, server_dies: bool) -> None:
    company = ScriptedCompany()

    def answer(request: RecordedRequest) -> Reply:
        if server_dies and "tictactoe/__main__.py`" in str(request.json):
            return Error(400, message="model worker crashed")
        return company(request)

    openai_server.set_handler(answer)
    config = Config.model_validate(
        {"llm": {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "num_retries": 0}}
    )
    options = RunOptions(
        idea="write a tic-tac-toe game", workspace=tmp_path / "workspace", code_review=False, project_name="ttt"
    )
    before = git_children()

    outcome = asyncio.run(run_company(config, options, progress_stream=io.StringIO()))

    assert (outcome.error is not None) == server_dies, outcome.error
    assert outcome.repo_root is not None and (outcome.repo_root / ".git").is_dir()
    assert git_children() - before == set()
