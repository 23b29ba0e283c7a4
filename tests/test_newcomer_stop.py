"""No run is lost: a stop (Ctrl-C, SIGTERM) at any moment — before the first token, or while an answer streams —
leaves a record that `metagpt logs` finds, holding the part of the answer that had streamed in. And the live view
shows that text as it streams (a looping model is visible), with a footer counting the calls in flight.

Real `metagpt` processes against a real slow streaming server on 127.0.0.1; the signals are real signals.
"""

from __future__ import annotations

import json
import os
import pty
import random
import re
import select
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_runner import clean_env, metagpt_command, run_metagpt, write_config
from fakes import Hang, OpenAIServer, RecordedRequest, Reply, Text, Trickle
from fakes.base import Wire
from scripted_company import ScriptedCompany

IDEA = "write a tic-tac-toe game"
PATIENCE = 90.0
LOOPING = "the same requirement again"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# A model gone round: the same line streamed one byte at a time, for far longer than any test waits.
GOING_ROUND = Trickle(Text((LOOPING + "\n") * 400, chunks=[LOOPING + "\n"] * 400), interval=0.002)
# A long answer that does not repeat itself (the loop watch would cut a repeating one at once): lines of words
# drawn from a seeded generator, streamed slowly.
_WORDS = [
    "board",
    "player",
    "move",
    "turn",
    "score",
    "grid",
    "win",
    "draw",
    "mark",
    "cell",
    "row",
    "column",
    "game",
    "rule",
    "check",
    "undo",
    "save",
    "load",
]
_RANDOM = random.Random(7)
LONG_LINES = [" ".join(_RANDOM.choice(_WORDS) for _ in range(9)) + "\n" for _ in range(400)]
LONG_ANSWER = Trickle(Text("".join(LONG_LINES), chunks=LONG_LINES), interval=0.005)


def _prd_answered_by(server: OpenAIServer, reply: Reply) -> None:
    company = ScriptedCompany()

    def handler(request: RecordedRequest) -> Reply:
        return reply if "WritePRD" in json.dumps(request.json) else company(request)

    server.set_handler(handler)


def _wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"waited {PATIENCE:.0f}s for {what}"
        time.sleep(0.05)


def _records(workspace: Path) -> list[dict[str, object]]:
    files = list(workspace.glob("*/.devteam/exchanges.jsonl")) + list(
        workspace.glob(".devteam-failed/*/exchanges.jsonl")
    )
    assert len(files) == 1, files
    return [json.loads(line) for line in files[0].read_text().splitlines() if line.strip()]


class OnTerminal:
    """`metagpt` on a pseudo-terminal, read as it draws, so a test can act on what the user would see."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        home = cwd / "home"
        home.mkdir(exist_ok=True)
        env = clean_env(home, TERM="xterm-256color")
        self._main, child = pty.openpty()
        self.process = subprocess.Popen(
            [*metagpt_command(), *args],
            cwd=cwd,
            env=env,
            stdin=child,
            stdout=child,
            stderr=child,
            close_fds=True,
            start_new_session=True,
        )
        os.close(child)
        self._chunks: list[bytes] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            ready, _, _ = select.select([self._main], [], [], 0.1)
            if not ready:
                if self.process.poll() is not None:
                    return
                continue
            try:
                data = os.read(self._main, 65536)
            except OSError:
                return
            if not data:
                return
            with self._lock:
                self._chunks.append(data)

    @property
    def screen(self) -> str:
        with self._lock:
            return ANSI.sub("", b"".join(self._chunks).decode("utf-8", errors="replace"))

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=PATIENCE)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            self._reader.join(PATIENCE)
            os.close(self._main)


@pytest.fixture
def stopped_before_first_token(tmp_path: Path, openai_server: OpenAIServer) -> Iterator[subprocess.Popen[str]]:
    """A run whose PRD call the server never answers, stopped by Ctrl-C once the server has the request."""
    _prd_answered_by(openai_server, Hang(PATIENCE))
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "timeout": 300})
    process = subprocess.Popen(
        [*metagpt_command(), IDEA, "--no-code-review"],
        cwd=tmp_path,
        env=clean_env(tmp_path / "home"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_until(lambda: bool(openai_server.chat_requests), "the PRD request to reach the server")
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        process.communicate(timeout=PATIENCE)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_ctrl_c_before_the_first_token_keeps_a_record_that_logs_finds(
    tmp_path: Path, stopped_before_first_token: subprocess.Popen[str]
) -> None:
    assert stopped_before_first_token.returncode == 130
    failed = list((tmp_path / "workspace" / ".devteam-failed").iterdir())
    assert len(failed) == 1
    (call,) = _records(tmp_path / "workspace")
    assert (call["role"], call["action"], call["outcome"], call["answer"]) == (
        "ProductManager",
        "WritePRD",
        "interrupted",
        "",
    )
    assert "Write" in json.dumps(call["messages"])  # the prompt that was paid for is kept with it
    summary = json.loads((failed[0] / "summary.json").read_text())
    assert summary["status"] == "interrupted" and summary["exit_code"] == 130

    logs = run_metagpt(["logs"], cwd=tmp_path)
    assert logs.code == 0, logs.output
    assert str(failed[0].name) in logs.stdout and "interrupted" in logs.stdout
    assert "(interrupted, exit 130" in logs.stdout
    timeline = run_metagpt(["logs", "--timeline"], cwd=tmp_path)
    assert timeline.code == 0 and "(stopped)" in timeline.stdout, timeline.output


class SlowToCount(OpenAIServer):
    """llama.cpp's /tokenize, on a machine so busy that counting the first prompt never ends."""

    def route(self, request: RecordedRequest, wire: Wire) -> None:
        if request.path == "/tokenize":
            self.pause(PATIENCE)
            return
        super().route(request, wire)


def test_a_stop_before_the_first_call_still_leaves_a_record(tmp_path: Path) -> None:
    with SlowToCount(n_ctx=8192, tokenize=True) as server:
        server.set_handler(ScriptedCompany())
        write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})
        process = subprocess.Popen(
            [*metagpt_command(), IDEA],
            cwd=tmp_path,
            env=clean_env(tmp_path / "home"),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_until(lambda: any(r.path == "/tokenize" for r in server.requests), "the prompt to be counted")
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=PATIENCE)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert not server.chat_requests
    assert process.returncode == 143, err
    failed = list((tmp_path / "workspace" / ".devteam-failed").iterdir())
    assert len(failed) == 1 and (failed[0] / "summary.json").is_file()
    logs = run_metagpt(["logs"], cwd=tmp_path)
    assert logs.code == 0, logs.output
    assert failed[0].name in logs.stdout and "No LLM call ended" in logs.stdout
    assert "(terminated, exit 143" in logs.stdout


def test_a_stop_mid_stream_keeps_the_partial_answer_the_live_view_showed(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    _prd_answered_by(openai_server, LONG_ANSWER)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "stream": True})
    run = OnTerminal([IDEA, "--no-code-review", "--project-name", "ttt"], tmp_path)
    try:
        # The text streams under the spinner, and the footer counts the call.
        _wait_until(
            lambda: any(line[:20] in run.screen for line in LONG_LINES[:20]) and "1 call in flight" in run.screen,
            "the streamed text",
        )
        _wait_until(lambda: LONG_LINES[2][:20] in run.screen, "a third line")
        run.process.send_signal(signal.SIGTERM)
    finally:
        code = run.finish()
    assert code == 143, run.screen
    (call,) = _records(tmp_path / "workspace")
    assert call["outcome"] == "interrupted" and str(call["answer"]).startswith(LONG_LINES[0] + LONG_LINES[1])
    assert (tmp_path / "workspace" / "ttt" / ".devteam" / "summary.json").is_file()

    logs = run_metagpt(["logs", "ttt", "--call", "1"], cwd=tmp_path / "workspace")
    assert logs.code == 0 and LONG_LINES[0].strip() in logs.stdout and "Outcome:  interrupted" in logs.stdout


def test_no_show_text_keeps_the_answer_off_the_screen(tmp_path: Path, openai_server: OpenAIServer) -> None:
    _prd_answered_by(openai_server, GOING_ROUND)
    write_config(tmp_path, {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "stream": True})
    run = OnTerminal([IDEA, "--no-show-text"], tmp_path)
    try:
        _wait_until(lambda: re.search(r"\d+ tokens\s+\d+\.\d tok/s", run.screen) is not None, "streamed tokens")
        run.process.send_signal(signal.SIGINT)
    finally:
        code = run.finish()
    assert code == 130
    assert LOOPING not in run.screen
