"""Stopping a run under attack: Ctrl-C from a terminal (SIGINT to the whole process group, git children
included) and SIGTERM, sent to the real `metagpt` while one file of a level is answered and another is still
being written by a slow scripted server; and a caller's own cancellation of `run_company`."""

from __future__ import annotations

import asyncio
import io
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import git
import pytest
from cli_runner import clean_env, metagpt_command, run_metagpt, write_config
from fakes import Hang, OpenAIServer, RecordedRequest, Reply
from scripted_company import ScriptedCompany

from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions

IDEA = "write a tic-tac-toe game"
FAST, SLOW = "tictactoe/__init__.py", "tictactoe/board.py"  # the first level of the plan
PATIENCE = 60.0


class SlowFile:
    """Answers the scripted run, but holds the SLOW file's WriteCode until released (or the server closes)."""

    def __init__(self, server: OpenAIServer, company: ScriptedCompany) -> None:
        self.server, self.company = server, company
        self.slow_asked = threading.Event()
        self.release = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        if f"Write the complete file `{SLOW}`" in str(request.json) and not self.release.is_set():
            self.slow_asked.set()
            self.server.pause(PATIENCE)  # wakes when the server closes at the end of the test
        return self.company(request)


class Running:
    """A `metagpt` run in a process group of its own, as a terminal's foreground job; stderr read as it comes."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        home = cwd / "home"
        home.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [*metagpt_command(), *args],
            cwd=cwd,
            env=clean_env(home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.stderr: list[str] = []
        self.stdout = ""
        self._line = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_stderr, daemon=True),
            threading.Thread(target=self._read_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._line:
                self.stderr.append(line)
                self._line.notify_all()

    def _read_stdout(self) -> None:
        assert self.process.stdout is not None
        self.stdout = self.process.stdout.read()

    def wait_for_line(self, text: str, timeout: float = PATIENCE) -> None:
        with self._line:
            found = self._line.wait_for(lambda: any(text in line for line in self.stderr), timeout=timeout)
        assert found, f"no line with {text!r} in:\n{''.join(self.stderr)}"

    def finish(self, timeout: float = PATIENCE) -> int:
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code

    @property
    def error_text(self) -> str:
        return "".join(self.stderr)


@pytest.fixture
def slow_run(tmp_path: Path, openai_server: OpenAIServer) -> Iterator[tuple[SlowFile, ScriptedCompany]]:
    company = ScriptedCompany()
    slow = SlowFile(openai_server, company)
    openai_server.set_handler(slow)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m"})
    yield slow, company
    slow.release.set()


def _stopped_mid_level(tmp_path: Path, slow: SlowFile, send: str) -> Running:
    running = Running([IDEA, "--no-code-review", "--project-name", "ttt"], tmp_path)
    try:
        running.wait_for_line(f"WriteCode {FAST} done")
        assert slow.slow_asked.wait(PATIENCE)
        if send == "terminal Ctrl-C":
            os.killpg(running.process.pid, signal.SIGINT)  # what a terminal does: the whole foreground group
        else:
            running.process.send_signal(signal.SIGTERM)
        running.finish()
    finally:
        if running.process.poll() is None:
            running.process.kill()
            running.finish()
    return running


def _committed_files(root: Path) -> list[str]:
    with git.Repo(root) as repo:
        return repo.git.ls_files().splitlines()


def _assert_answered_file_committed(root: Path, running: Running) -> None:
    assert "Traceback" not in running.error_text and "BrokenPipe" not in running.error_text, running.error_text
    assert FAST in _committed_files(root)
    assert SLOW not in _committed_files(root) and not (root / SLOW).exists()
    with git.Repo(root) as repo:
        assert repo.git.status("--porcelain") == ""  # nothing left staged or half-written
        assert "interrupted" in repo.head.commit.summary and FAST in repo.head.commit.summary


def test_ctrl_c_mid_level_commits_the_answered_files_and_resume_finishes(
    tmp_path: Path, slow_run: tuple[SlowFile, ScriptedCompany]
) -> None:
    slow, company = slow_run
    running = _stopped_mid_level(tmp_path, slow, "terminal Ctrl-C")

    assert running.process.returncode == 130, running.error_text
    assert "stopped by Ctrl-C." in running.error_text and "interrupted (Ctrl-C)" not in running.error_text
    root = tmp_path / "workspace" / "ttt"
    _assert_answered_file_committed(root, running)

    slow.release.set()
    company.calls.clear()
    resume_line = next(line for line in running.stderr if "Resume with: " in line)
    command = shlex.split(resume_line.split("Resume with: ", 1)[1])
    assert command[0] == "metagpt"
    resumed = run_metagpt(command[1:], cwd=tmp_path)
    assert resumed.code == 0, resumed.output
    assert FAST not in company.calls and SLOW in company.calls  # the answered file was not paid for twice


def test_sigterm_is_handled_like_ctrl_c(tmp_path: Path, slow_run: tuple[SlowFile, ScriptedCompany]) -> None:
    slow, _ = slow_run
    running = _stopped_mid_level(tmp_path, slow, "SIGTERM")

    assert running.process.returncode == 143, running.error_text
    assert "stopped by SIGTERM." in running.error_text and "--resume" in running.error_text
    _assert_answered_file_committed(tmp_path / "workspace" / "ttt", running)


def test_a_callers_cancellation_is_not_swallowed(tmp_path: Path, openai_server: OpenAIServer) -> None:
    openai_server.enqueue(Hang(PATIENCE))
    config = Config.model_validate(
        {
            "llm": {
                "api_type": "open_llm",
                "base_url": openai_server.base_url,
                "model": "m",
                "timeout": PATIENCE,
                "num_retries": 0,
            }
        }
    )
    options = RunOptions(idea=IDEA, workspace=tmp_path / "workspace", code_review=False)

    async def with_deadline() -> object:
        return await asyncio.wait_for(run_company(config, options, progress_stream=io.StringIO()), timeout=0.5)

    with pytest.raises(asyncio.TimeoutError):
        asyncio.run(with_deadline())
