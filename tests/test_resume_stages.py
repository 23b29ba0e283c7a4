"""Nothing is paid twice on resume: a run stopped after any stage (or in the middle of one), then `--resume`d,
sends the server no request for anything it already answered — the PRD, the design, files already written, a
hollow function's file whose fill was cut off, an import fit or a QA fix answered while its neighbour failed.

The real `metagpt` in a subprocess against a scripted OpenAI-protocol server on 127.0.0.1 that keeps a list of
every request it saw; the first run ends because the server fails one request for good (500s until the retries
run out) or because the user presses Ctrl-C (a real SIGINT), the resume gets every answer.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import git
import pytest
from cli_runner import clean_env, metagpt_command, run_metagpt, write_config
from fakes import Error, Hang, OpenAIServer, RecordedRequest, Reply, Text, asked
from scripted_company import TICTACTOE_FILES, ScriptedCompany, ScriptedFile

from devteam.artifacts.function_source import function_text

IDEA = "write a tic-tac-toe game"
ARGS = [IDEA, "--project-name", "tictactoe", "--workspace", "ws"]
PATIENCE = 90.0

_FILL = re.compile(r"Write the body of `([^`]+)` in `([^`]+)`")
_FIT = re.compile(r"## Action: FitImports\n`([^`]+)` cannot run as written")
_FIX = re.compile(r"Fix the file `([^`]+)`")
_FIX_FUNCTION = re.compile(r"`([^`]+)` of `([^`]+)`\. Correct")


class CountingCompany(ScriptedCompany):
    """The scripted company, also answering FillFunction, FitImports, FixFunction and FixCode; `failing` keys
    get 500s."""

    def __init__(self, files: list[ScriptedFile], *, failing: str | None = None, hanging: str | None = None) -> None:
        super().__init__(files)
        self.failing, self.hanging = failing, hanging
        self.fills: dict[str, str] = {}  # qualname -> the body answered
        self.fits: dict[str, str] = {}  # path -> the file answered
        self.fixes: dict[str, str] = {}  # path -> the file answered
        self.function_fixes: dict[str, str] = {}  # qualname -> the function answered

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = (request.json or {}).get("messages", [])
        first_user = asked(messages)
        # A follow-up continues the conversation that wrote the file: its own question is the last message.
        last_user = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        key, text = self._follow_up(last_user)
        if key is None:
            reply = super().__call__(request)
            key = self.calls[-1]
        else:
            self.calls.append(key)
            reply = Text(text, usage=(len(first_user) // 4, len(text) // 4))
        if key == self.failing:
            return Error(500, message="model worker crashed")
        if key == self.hanging:
            return Hang(PATIENCE)
        return reply

    def _follow_up(self, prompt: str) -> tuple[str | None, str]:
        if "## Action: FillFunction" in prompt and (match := _FILL.search(prompt)):
            qualname, path = match.groups()
            return f"fill:{path}:{qualname}", f"```python\n{self.fills[qualname]}\n```"
        if "## Action: FitImports" in prompt and (match := _FIT.search(prompt)):
            return f"fit:{match.group(1)}", f"```python\n{self.fits[match.group(1)]}```"
        if "## Action: FixFunction" in prompt and (match := _FIX_FUNCTION.search(prompt)):
            qualname, path = match.groups()
            return f"fix_function:{path}:{qualname}", f"```python\n{self.function_fixes[qualname]}\n```"
        if "## Action: FixCode" in prompt and (match := _FIX.search(prompt)):
            return f"fix:{match.group(1)}", f"```python\n{self.fixes[match.group(1)]}```"
        return None, ""

    def answered(self) -> set[str]:
        """Every request key answered so far (the failing one never was)."""
        return {key for key in self.calls if key not in (self.failing, self.hanging)}


def _files(**replaced: str) -> list[ScriptedFile]:
    return [
        ScriptedFile(f.path, replaced.get(f.path, f.code), f.depends_on, f.purpose) if f.path in replaced else f
        for f in TICTACTOE_FILES
    ]


def _config(tmp_path: Path, server: OpenAIServer) -> None:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"})


def _stopped_then_resumed(
    tmp_path: Path,
    server: OpenAIServer,
    company: CountingCompany,
    *,
    extra: tuple[str, ...] = (),
    failing_asked_again: bool = True,
) -> tuple[set[str], list[str]]:
    """The first run (ends by the failing request), then the resume: (keys answered before, requests after)."""
    server.set_handler(company)
    _config(tmp_path, server)
    first = run_metagpt([*ARGS, *extra], cwd=tmp_path)
    assert first.code == 1, first.output
    assert "Resume with: " in first.stderr, first.output
    answered = company.answered()
    failing, company.failing = company.failing, None
    company.calls.clear()
    resumed = run_metagpt([*ARGS, *extra, "--resume"], cwd=tmp_path)
    assert resumed.code == 0, resumed.output
    if failing_asked_again:
        assert failing in company.calls  # what was never answered is asked now
    return answered, list(company.calls)


def _project(tmp_path: Path) -> Path:
    return tmp_path / "ws" / "tictactoe"


@pytest.mark.parametrize(
    ("failing", "answered_first"),
    [
        ("WriteDesign", {"WritePRD"}),  # stopped after the PRD
        ("tictactoe/board.py", {"WritePRD", "WriteDesign", "tictactoe/__init__.py"}),  # after the design
        ("tictactoe/__main__.py", {"WritePRD", "WriteDesign", "tictactoe/board.py", "review:tictactoe/ai.py"}),
    ],
    ids=["after-prd", "after-design", "after-some-files"],
)
def test_a_resume_after_each_stage_asks_nothing_already_answered(
    tmp_path: Path, openai_server: OpenAIServer, failing: str, answered_first: set[str]
) -> None:
    company = CountingCompany(TICTACTOE_FILES, failing=failing)

    answered, asked = _stopped_then_resumed(tmp_path, openai_server, company)

    assert answered_first <= answered
    assert not answered & set(asked), asked
    assert (_project(tmp_path) / "tictactoe" / "__main__.py").is_file()


HOLLOW_BOARD = TICTACTOE_FILES[1].code.replace(
    "        return [i for i, cell in enumerate(self.cells) if cell == ' ']\n", "        pass\n"
)


def test_a_file_whose_fill_failed_is_not_asked_for_again(tmp_path: Path, openai_server: OpenAIServer) -> None:
    """The file's answer came, its hollow function's fill did not: the resume asks only for the fill (the
    file's own answer, never committed, is given again from the record)."""
    assert "pass\n" in HOLLOW_BOARD
    company = CountingCompany(
        _files(**{"tictactoe/board.py": HOLLOW_BOARD}), failing="fill:tictactoe/board.py:Board.free"
    )
    company.fills["Board.free"] = "return [i for i, cell in enumerate(self.cells) if cell == ' ']"

    answered, asked = _stopped_then_resumed(tmp_path, openai_server, company)

    assert "tictactoe/board.py" in answered
    assert "tictactoe/board.py" not in asked, asked
    assert not answered & set(asked), asked
    board = (_project(tmp_path) / "tictactoe" / "board.py").read_text()
    assert "enumerate(self.cells)" in board and "pass" not in board
    summary = json.loads((_project(tmp_path) / ".devteam" / "summary.json").read_text())
    reused = [
        json.loads(line)
        for line in (_project(tmp_path) / ".devteam" / "exchanges.jsonl").read_text().splitlines()
        if json.loads(line).get("reused")
    ]
    assert [(e["action"], e["subject"]) for e in reused] == [("WriteCode", "tictactoe/board.py")]
    assert summary["status"] == "ok"


def test_ctrl_c_during_a_fill_then_resume_asks_only_the_fill(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = CountingCompany(
        _files(**{"tictactoe/board.py": HOLLOW_BOARD}), hanging="fill:tictactoe/board.py:Board.free"
    )
    company.fills["Board.free"] = "return [i for i, cell in enumerate(self.cells) if cell == ' ']"
    openai_server.set_handler(company)
    _config(tmp_path, openai_server)
    home = tmp_path / "home"
    home.mkdir()
    process = subprocess.Popen(
        [*metagpt_command(), *ARGS],
        cwd=tmp_path,
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + PATIENCE
    while company.hanging not in company.calls:
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    _, stderr = process.communicate(timeout=PATIENCE)
    assert process.returncode == 130, stderr
    answered = company.answered()
    company.hanging = None
    company.calls.clear()

    resumed = run_metagpt([*ARGS, "--resume"], cwd=tmp_path)

    assert resumed.code == 0, resumed.output
    assert "tictactoe/board.py" in answered
    assert "fill:tictactoe/board.py:Board.free" in company.calls
    assert not answered & set(company.calls), company.calls


def test_an_import_fit_answered_while_another_failed_is_kept(tmp_path: Path, openai_server: OpenAIServer) -> None:
    ai = "from tictactoe.board import Board, Grid\n\n\ndef choose(board: Board) -> int:\n    return board.free()[0]\n"
    main = TICTACTOE_FILES[4].code.replace("from tictactoe.ai import choose", "from tictactoe.ai import choose, pick")
    company = CountingCompany(
        _files(**{"tictactoe/ai.py": ai, "tictactoe/__main__.py": main}), failing="fit:tictactoe/__main__.py"
    )
    company.fits["tictactoe/ai.py"] = TICTACTOE_FILES[2].code
    company.fits["tictactoe/__main__.py"] = TICTACTOE_FILES[4].code

    answered, asked = _stopped_then_resumed(tmp_path, openai_server, company, extra=("--no-code-review",))

    assert "fit:tictactoe/ai.py" in answered
    assert "Grid" not in (_project(tmp_path) / "tictactoe" / "ai.py").read_text()  # the answered fit, committed
    messages = [commit.message for commit in git.Repo(_project(tmp_path)).iter_commits()]
    assert any(message.startswith("Fit tictactoe/ai.py") for message in messages), messages
    assert not answered & set(asked), asked


BROKEN_BOARD = TICTACTOE_FILES[1].code.replace(
    "        return [i for i, cell in enumerate(self.cells) if cell == ' ']\n",
    "        raise RuntimeError('the board is broken')\n",
)
CHOOSE_TEST = (
    "from tictactoe.ai import choose\nfrom tictactoe.board import Board\n\n\n"
    "def test_choose_takes_the_first_free_cell() -> None:\n    assert choose(Board()) == 0\n"
)


def test_a_qa_fix_answered_while_the_other_failed_is_kept(tmp_path: Path, openai_server: OpenAIServer) -> None:
    """QA round 1 fails in ai.py and board.py; board.py's fix (of `Board.free`, where the failure was raised)
    comes, ai.py's never does: the resume finds the fix committed, its round passes, and the fix of board.py is
    not asked again."""
    company = CountingCompany(
        _files(**{"tictactoe/board.py": BROKEN_BOARD, "tests/test_board.py": CHOOSE_TEST}),
        failing="fix:tictactoe/ai.py",
    )
    free = function_text(TICTACTOE_FILES[1].code, "free", "Board")
    assert free is not None
    company.function_fixes["Board.free"] = free
    company.fixes["tictactoe/ai.py"] = TICTACTOE_FILES[2].code

    answered, asked = _stopped_then_resumed(
        tmp_path,
        openai_server,
        company,
        extra=("--no-code-review", "--run-tests", "--qa-rounds", "1"),
        failing_asked_again=False,  # the kept fix was the one the tests needed
    )

    assert "fix_function:tictactoe/board.py:Board.free" in answered
    assert not answered & set(asked), asked
    messages = [commit.message for commit in git.Repo(_project(tmp_path)).iter_commits()]
    assert any(message.startswith("Fix tictactoe/board.py (QA round 1)") for message in messages), messages
    assert "1 of 1 tests pass" in (_project(tmp_path) / "docs" / "qa" / "round_2.md").read_text()
