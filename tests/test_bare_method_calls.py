"""A module's own method called as a bare function, made a call on the object it was given."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from fakes import OpenAIServer
from scripted_company import ScriptedCompany, ScriptedFile

from devteam.artifacts.bare_method_calls import with_method_receivers
from devteam.config.settings import Config
from devteam.run.company import run_company
from devteam.run.options import RunOptions

TICTACTOE = """\
class TicTacToe:
    def __init__(self):
        self.board = [" "] * 9

    def print_board(self):
        print(self.board)

    def make_move(self, cell, mark="X"):
        self.board[cell] = mark


def play_game():
    game = TicTacToe()
    print_board(game)
    make_move(game, 4, mark="O")
    print_board(game)
"""


def test_the_0_5b_s_tic_tac_toe_calls_its_methods_on_the_game() -> None:
    code, rewritten = with_method_receivers(TICTACTOE)

    assert rewritten == [
        "print_board(game) -> game.print_board()",
        'make_move(game, 4, mark="O") -> game.make_move(4, mark="O")',
        "print_board(game) -> game.print_board()",
    ]
    assert '    game.print_board()\n    game.make_move(4, mark="O")\n    game.print_board()\n' in code
    compile(code, "main.py", "exec")


def test_calls_that_are_not_plainly_a_method_are_left_alone() -> None:
    cases = [
        # a module-level function of that name exists
        TICTACTOE + "\n\ndef print_board(game):\n    print(game)\n",
        # the name is imported
        "from display import print_board\n" + TICTACTOE,
        # two classes have the method: whose is it?
        TICTACTOE + "\n\nclass Other:\n    def print_board(self):\n        pass\n",
        # the first argument is not a plain name
        TICTACTOE.replace("print_board(game)\n    make_move", "print_board(TicTacToe())\n    make_move", 1),
        # too many arguments for the method
        TICTACTOE.replace('make_move(game, 4, mark="O")', "make_move(game, 4, 5, 6)"),
        # a builtin
        "class Box:\n    def len(self):\n        return 1\n\n\nprint(len([1]))\n",
    ]
    for source in cases:
        _, rewritten = with_method_receivers(source)
        changed = [line for line in rewritten if "print_board(TicTacToe())" in line or "4, 5, 6" in line]
        assert not changed, rewritten
    assert with_method_receivers(cases[0])[1] == ['make_move(game, 4, mark="O") -> game.make_move(4, mark="O")']
    assert with_method_receivers(cases[1])[1] == ['make_move(game, 4, mark="O") -> game.make_move(4, mark="O")']
    assert with_method_receivers(cases[2])[1] == ['make_move(game, 4, mark="O") -> game.make_move(4, mark="O")']
    assert with_method_receivers(cases[5]) == (cases[5], [])
    assert with_method_receivers("def broken(:\n") == ("def broken(:\n", [])


def test_a_method_called_on_its_object_already_is_unchanged() -> None:
    source = TICTACTOE.replace("print_board(game)", "game.print_board()").replace(
        'make_move(game, 4, mark="O")', "game.make_move(4)"
    )

    assert with_method_receivers(source) == (source, [])


def test_a_written_file_is_committed_with_its_methods_called_on_the_object(
    openai_server: OpenAIServer, tmp_path: Path
) -> None:
    main = ScriptedFile("main.py", TICTACTOE + '\n\nif __name__ == "__main__":\n    play_game()\n', [], "the program")
    openai_server.set_handler(ScriptedCompany([main]))
    llm = {"api_type": "open_llm", "base_url": openai_server.base_url, "model": "m", "timeout": 10, "num_retries": 0}
    options = RunOptions(idea="a tic-tac-toe game", workspace=tmp_path / "ws", code_review=False)
    outcome = asyncio.run(run_company(Config.model_validate({"llm": llm}), options, progress_stream=io.StringIO()))
    assert outcome.error is None, outcome.error
    assert outcome.repo_root is not None
    written = (outcome.repo_root / "main.py").read_text()
    assert "    game.print_board()\n" in written and "print_board(game)" not in written
    assert "repair_method_receiver" in outcome.ledger.repairs
    run_log = (outcome.repo_root / ".devteam" / "run.log").read_text()
    assert "repair_method_receiver: main.py calls its own methods as functions (print_board(game) -> " in run_log
    if outcome.run.repo is not None:
        outcome.run.repo.close()
