"""A git lock file left in the project (a git killed mid-write, or one still running) is found when the project is
opened, before any call is paid for: the real `metagpt --resume`, a scripted server counting its calls, real git."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest
from cli_runner import clean_env, run_metagpt, write_config
from fakes import Error, OpenAIServer, RecordedRequest, Reply
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"
RESUME = [IDEA, "--no-code-review", "--project-name", "ttt", "--resume"]


def _interrupted_project(tmp_path: Path, server: OpenAIServer, company: ScriptedCompany) -> Path:
    def dies_at_main(request: RecordedRequest) -> Reply:
        if "Write the complete file `tictactoe/__main__.py`" in str(request.json):
            return Error(500, message="model worker crashed")
        return company(request)

    server.set_handler(dies_at_main)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
    assert run_metagpt([IDEA, "--no-code-review", "--project-name", "ttt"], cwd=tmp_path).code == 1
    server.set_handler(company)
    return tmp_path / "workspace" / "ttt"


@pytest.mark.parametrize("lock", ["index.lock", "HEAD.lock", "refs/heads/main.lock"])
def test_a_stale_git_lock_stops_the_resume_before_any_paid_call(
    tmp_path: Path, openai_server: OpenAIServer, lock: str
) -> None:
    company = ScriptedCompany()
    root = _interrupted_project(tmp_path, openai_server, company)
    stale = root / ".git" / lock
    stale.write_bytes(b"")  # what a git killed mid-write leaves: nobody holds it
    before = len(openai_server.chat_requests)

    result = run_metagpt(RESUME, cwd=tmp_path)

    assert result.code == 2, result.output
    assert len(openai_server.chat_requests) == before, "a paid call was made before the lock was found"
    assert str(stale) in result.stderr and "No git command is running" in result.stderr, result.stderr
    assert f"rm {stale}" in result.stderr and "Traceback" not in result.output
    assert stale.exists()  # never removed behind the user's back

    stale.unlink()  # the fix the message gives
    again = run_metagpt(RESUME, cwd=tmp_path)
    assert again.code == 0, again.output
    assert company.calls[-1] == "tictactoe/__main__.py" and (root / "tictactoe" / "__main__.py").is_file()


def test_a_git_command_still_running_is_named_and_the_lock_it_leaves_when_killed_is_stale(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    root = _interrupted_project(tmp_path, openai_server, ScriptedCompany())
    with (root / ".gitignore").open("a") as ignore:
        ignore.write("# the user's own change\n")
    # A real `git commit -a` waiting for its editor holds index.lock (without keeping it open) while it waits.
    env = clean_env(
        tmp_path,
        GIT_EDITOR="sleep 300;:",
        GIT_AUTHOR_NAME="u",
        GIT_AUTHOR_EMAIL="u@example.com",
        GIT_COMMITTER_NAME="u",
        GIT_COMMITTER_EMAIL="u@example.com",
    )
    committing = subprocess.Popen(["git", "commit", "-a"], cwd=root, env=env, start_new_session=True)
    lock = root / ".git" / "index.lock"
    try:
        while not (root / ".git" / "COMMIT_EDITMSG").exists() and committing.poll() is None:
            os.sched_yield()
        assert lock.exists(), "git commit -a did not take the index lock"
        before = len(openai_server.chat_requests)

        running = run_metagpt(RESUME, cwd=tmp_path)

        assert running.code == 2, running.output
        assert len(openai_server.chat_requests) == before
        assert f"pid {committing.pid}: git commit -a" in running.stderr, running.stderr
        assert "Wait for it" in running.stderr and "rm " not in running.stderr
    finally:
        if committing.poll() is None:
            os.killpg(committing.pid, signal.SIGKILL)
        committing.wait()

    # Killed, git leaves its lock behind: now nothing holds it, and the message says how to remove it.
    assert lock.exists()
    stale = run_metagpt(RESUME, cwd=tmp_path)
    assert stale.code == 2, stale.output
    assert len(openai_server.chat_requests) == before
    assert "No git command is running" in stale.stderr and f"rm {lock}" in stale.stderr, stale.stderr
