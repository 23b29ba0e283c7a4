"""`metagpt "write a snake game" --run-tests` end to end: QA writes tests, they catch the scripted bug, the
Engineer fixes it when shown the failure, and the next round passes — each step a commit by its role."""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest
import yaml
from cli_runner import CliResult, run_metagpt, write_config
from fakes import OpenAIServer, asked
from fakes.base import Error, RecordedRequest, Reply, Text
from scripted_company import ScriptedFile
from scripted_qa import BUGGY_BOARD, FIXED_BOARD, SNAKE_FILES, TESTS, ScriptedQaCompany

IDEA = "write a snake game"


def _log(root: Path) -> list[tuple[str, str]]:
    with git.Repo(root) as repo:
        return [(c.author.name, c.summary) for c in reversed(list(repo.iter_commits()))]


def _configure(tmp_path: Path, server: OpenAIServer, **top: object) -> None:
    write_config(tmp_path, {"api_type": "open_llm", "base_url": server.base_url, "model": "m"}, **top)


def test_run_tests_catches_the_bug_and_the_engineer_fixes_it(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedQaCompany()
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "snake"
    log = _log(root)
    qa_part = log[-4:]
    assert qa_part == [
        ("QaEngineer", "Add tests for snake/board.py"),
        ("QaEngineer", "1 of 4 tests fail, python -m snake: clean exit (round 1)"),
        ("Engineer", "Fix snake/board.py (QA round 1)"),
        ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 2)"),
    ], log
    # The fix prompt carried the failing output and the implicated file.
    fix_prompt = company.prompts["FixCode"][0]
    assert "test_length_stays_the_same_without_food" in fix_prompt and "self.snake.insert(0, head)" in fix_prompt
    # ... as a turn after the conversation that wrote the file, the file as it reads now (a server's cache holds
    # the writing prompt); the failure and the test file in the new turn.
    (_, wrote_board, board_then, fix_turn) = company.requests["FixCode"][0]
    assert "Write the complete file `snake/board.py`" in wrote_board["content"]
    assert board_then == {"role": "assistant", "content": f"```python\n{BUGGY_BOARD.rstrip()}\n```"}
    assert "Fix the file `snake/board.py` you wrote above" in fix_turn["content"]
    assert "### `tests/test_board.py`" in fix_turn["content"] and "FAILED" in fix_turn["content"]
    # WriteTests was scoped to the module (and not the entry point): it continued the conversation that wrote it.
    (system, wrote, board, ask) = company.requests["WriteTests"][0]
    # Written once, then twice more, warmer, as candidates (a test failed): the same answer is no other choice.
    assert company.calls.count("tests:snake/board.py") == 3
    assert (
        "tests_candidate: tests/test_board.py, candidate 2 (temperature 0.6): as it was"
        in (root / ".devteam" / "run.log").read_text()
    )
    assert "Write the complete file `snake/board.py`" in wrote["content"] and "class Board" in board["content"]
    assert (system["role"], board["role"]) == ("system", "assistant") and "## Action: WriteTests" in ask["content"]
    assert (root / "snake" / "board.py").read_text().count("self.snake.pop()") == 1
    assert "QA:       round 1: 3 tests passed, 1 failed, entry point: clean exit" in result.stdout
    assert "QA:       round 2: 4 tests passed, 0 failed" in result.stdout
    assert "Sandbox:" in result.stdout
    summary = json.loads((root / ".devteam" / "summary.json").read_text())
    assert [(r["round"], r["tests_passed"], r["tests_failed"]) for r in summary["qa"]["rounds"]] == [
        (1, 3, 1),
        (2, 4, 0),
    ]
    assert "## Tests: 3 passed, 1 failed, 0 errors" in (root / "docs" / "qa" / "round_1.md").read_text()

    logs = run_metagpt(["logs", str(root)], cwd=tmp_path)
    assert logs.code == 0, logs.output
    assert "QA:       round 1: 3 tests passed, 1 failed" in logs.stdout
    assert "QA:       round 2: 4 tests passed, 0 failed" in logs.stdout
    assert "FixCode" in logs.stdout and "WriteTests" in logs.stdout


def test_qa_rounds_bound_the_fixes_and_qa_true_in_the_config_turns_qa_on(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    # A fifth test no fix satisfies: the fix of the board is better (4 of 5), and a second round would be asked.
    unsatisfiable = TESTS + "\n\ndef test_a_wider_board() -> None:\n    assert Board().width == 11\n"
    company = ScriptedQaCompany(tests={"snake/board.py": unsatisfiable})
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server, qa=True)

    result = run_metagpt([IDEA, "--no-code-review", "--qa-rounds", "1"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    log = _log(tmp_path / "workspace" / "snake")
    assert [m for a, m in log if a == "Engineer" and m.startswith("Fix ")] == ["Fix snake/board.py (QA round 1)"]
    assert [m for a, m in log if a == "QaEngineer"][-1] == "1 of 5 tests fail, python -m snake: clean exit (round 2)"
    assert company.calls.count("fix:snake/board.py") == 1  # the first candidate scored better: kept
    run_log = (tmp_path / "workspace" / "snake" / ".devteam" / "run.log").read_text()
    assert "fix_candidate: snake/board.py, candidate 1 (temperature as configured): 4 tests pass, 1 fail" in run_log


class _Requiring(ScriptedQaCompany):
    """A design whose required_packages name the package the code imports (and this machine lacks)."""

    def design_text(self) -> str:
        design = json.loads(super().design_text())
        design["required_packages"] = ["zz_absent_engine"]
        return json.dumps(design)


# One real test of the board, for the runs whose subject is the program's start.
BOARD_STARTS_AT_ZERO = "from snake.board import Board\n\n\ndef test_score() -> None:\n    assert Board().score == 0\n"


def test_a_module_no_requirement_names_is_the_codes_failure_and_goes_to_the_fix(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    # The 0.5B's one-file snake kept `from graphics import *` in a standard-library program: not a package to
    # install but a module it made up, so QA hands the failure to the Engineer like any other.
    main = "from zz_made_up_graphics import *\n\ndraw()\n"
    files = [*SNAKE_FILES[:2], ScriptedFile("snake/__main__.py", main, ["snake/board.py"], "entry point")]
    company = ScriptedQaCompany(
        files,
        fixes={},
        tests={"snake/board.py": BOARD_STARTS_AT_ZERO},
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert "needs zz_made_up_graphics" not in result.stdout
    # The import-fit follow-up came back unchanged, so the import of what nothing provides was dropped: the
    # rest of the file loads, and what still fails (draw() is undefined) goes to the Engineer's fix.
    assert "repair_import_dropped" in result.stderr
    log = _log(tmp_path / "workspace" / "snake")
    assert any(author == "Engineer" and summary.startswith("Fit snake/__main__.py") for author, summary in log), log
    assert "fix:snake/__main__.py" in company.calls
    assert "NameError: name 'draw' is not defined" in company.prompts["FixCode"][0]


def test_a_function_that_used_a_dropped_import_is_written_again_without_it(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    # The 0.5B's markdown converter called `markdown.markdown(text)` in a standard-library program; its import
    # was dropped (nothing provides it) and the program died on a NameError at its first call, in every suite.
    main = (
        "import zz_made_up_markup\n\n\ndef render(text):\n    return zz_made_up_markup.render(text)\n\n\n"
        "print(render('# hi'))\n"
    )
    still_using = "import zz_made_up_markup\n\ndef render(text):\n    return zz_made_up_markup.markdown(text)"
    plain = "def render(text):\n    return '<h1>' + text.lstrip('# ') + '</h1>'"
    files = [*SNAKE_FILES[:2], ScriptedFile("snake/__main__.py", main, ["snake/board.py"], "entry point")]
    company = ScriptedQaCompany(
        files,
        fixes={},
        tests={"snake/board.py": BOARD_STARTS_AT_ZERO},
        new_versions={"render": [still_using, plain]},
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert "repair_import_dropped" in result.stderr
    run_log = (tmp_path / "workspace" / "snake" / ".devteam" / "run.log").read_text()
    assert "repair_function_without_import: snake/__main__.py render written without zz_made_up_markup" in run_log
    # Asked twice: the first answer imported the package again and still called it, so it was not kept.
    asked_without = [p for p in company.prompts["WriteAnew"] if "`zz_made_up_markup` is not installed" in p]
    assert len(asked_without) == 2, company.prompts.get("WriteAnew")
    written = (tmp_path / "workspace" / "snake" / "snake" / "__main__.py").read_text()
    assert "zz_made_up_markup" not in written
    assert "return '<h1>' + text.lstrip('# ') + '</h1>'" in written
    log = _log(tmp_path / "workspace" / "snake")
    assert any(author == "Engineer" and summary.startswith("Fit snake/__main__.py") for author, summary in log), log
    assert log[-1] == ("QaEngineer", "1 of 1 tests pass, python -m snake: clean exit (round 1)"), log


def test_a_function_whose_every_rewrite_still_uses_the_dropped_import_is_left_for_the_fix(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    main = (
        "import zz_made_up_markup\n\n\ndef render(text):\n    return zz_made_up_markup.render(text)\n\n\nrender('x')\n"
    )
    still_using = "def render(text):\n    import zz_made_up_markup\n    return zz_made_up_markup.markdown(text)"
    files = [*SNAKE_FILES[:2], ScriptedFile("snake/__main__.py", main, ["snake/board.py"], "entry point")]
    company = ScriptedQaCompany(
        files, fixes={}, tests={"snake/board.py": BOARD_STARTS_AT_ZERO}, new_versions={"render": [still_using]}
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert "snake/__main__.py render: still uses zz_made_up_markup after 2 answers; left as it was" in result.stderr
    written = (tmp_path / "workspace" / "snake" / "snake" / "__main__.py").read_text()
    assert written.startswith("\n\ndef render(text):\n    return zz_made_up_markup.render(text)"), written
    # What still fails goes to the Engineer's fix, with the real error.
    assert "NameError: name 'zz_made_up_markup' is not defined" in company.prompts["FixCode"][0]


def test_a_missing_third_party_package_is_reported_not_fixed(tmp_path: Path, openai_server: OpenAIServer) -> None:
    main = "import zz_absent_engine\n\nzz_absent_engine.run()\n"
    files = [*SNAKE_FILES[:2], ScriptedFile("snake/__main__.py", main, ["snake/board.py"], "entry point")]
    company = _Requiring(files, fixes={}, tests={"snake/board.py": BOARD_STARTS_AT_ZERO})
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    # The idea names the package, so the design keeps it (else it is dropped and the program written without).
    idea = f"{IDEA}, drawn with zz_absent_engine"
    result = run_metagpt([idea, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert "needs zz_absent_engine" in result.stdout
    assert not any(call.startswith("fix:") for call in company.calls)
    log = _log(tmp_path / "workspace" / "snake")
    assert log[-1] == ("QaEngineer", "1 of 1 tests pass, python -m snake: needs packages (round 1)")


def test_interrupted_qa_keeps_its_rounds_and_resume_continues(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedQaCompany()
    fail_fixes = {"on": True}

    def handler(request: RecordedRequest) -> Reply:
        first_user = asked(request.json["messages"])
        if fail_fixes["on"] and "## Action: FixCode" in first_user:
            return Error(400, {"error": {"message": "model crashed"}})
        return company(request)

    openai_server.set_handler(handler)
    _configure(tmp_path, openai_server)
    first = run_metagpt([IDEA, "--no-code-review", "--run-tests", "--project-name", "snake"], cwd=tmp_path, timeout=240)
    assert first.code == 1, first.output
    root = tmp_path / "workspace" / "snake"
    assert _log(root)[-1] == ("QaEngineer", "1 of 4 tests fail, python -m snake: clean exit (round 1)")
    assert "--resume" in first.stderr

    fail_fixes["on"] = False
    second = run_metagpt(
        [IDEA, "--no-code-review", "--run-tests", "--project-name", "snake", "--resume"], cwd=tmp_path, timeout=240
    )

    assert second.code == 0, second.output
    log = _log(root)
    qa = [m for a, m in log if a in ("QaEngineer", "Engineer") and ("round" in m)]
    assert qa == [
        "1 of 4 tests fail, python -m snake: clean exit (round 1)",
        "1 of 4 tests fail, python -m snake: clean exit (round 2)",
        "Fix snake/board.py (QA round 2)",
        "4 of 4 tests pass, python -m snake: clean exit (round 3)",
    ]
    assert company.calls.count("tests:snake/board.py") == 3  # the first run's three candidates; never again
    # The resumed run did not write the file, so its fix is a prompt of its own, the file in it.
    resumed_fix = company.requests["FixCode"][-1]
    assert [m["role"] for m in resumed_fix] == ["system", "user"]
    assert "## The file to fix: `snake/board.py`" in resumed_fix[1]["content"]


def test_qa_install_makes_an_ignored_virtualenv_in_the_project(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedQaCompany()
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--qa-install", "--qa-rounds", "0"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "snake"
    assert (root / ".venv" / "bin" / "python").exists()
    with git.Repo(root) as repo:
        assert not repo.is_dirty(untracked_files=True)
        assert not any(path.startswith(".venv") for path in repo.git.ls_files().splitlines())
    assert yaml.safe_load((tmp_path / "config" / "config2.yaml").read_text())["llm"]["model"] == "m"


class _CutOff(ScriptedQaCompany):
    """Every request of one action runs past the token limit, even with the budget doubled (the 0.5B's tests
    and fixes did); the rest is answered as scripted. Each cut-off answer is counted as `key`."""

    def __init__(self, action: str, key: str, partial: str) -> None:
        super().__init__()
        self.action, self.key, self.partial = action, key, partial

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = (request.json or {}).get("messages", [])
        if any(f"## Action: {self.action}" in str(m.get("content")) for m in messages):
            self.calls.append(self.key)
            return Text(self.partial, finish_reason="length", usage=(100, 10))
        return super().__call__(request)


def test_tests_the_model_cannot_write_leave_qa_running_the_program(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = _CutOff("WriteTests", "tests:cut", "```python\nimport pytest\n\ndef test_")
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert company.calls.count("tests:cut") == 2  # asked, asked again with twice the budget, then no tests
    assert "QA writes no tests for snake/board.py" in result.stderr
    log = _log(tmp_path / "workspace" / "snake")
    assert not any(summary.startswith("Add tests") for _, summary in log), log
    assert log[-1][0] == "QaEngineer" and "round 1" in log[-1][1], log  # the round ran: the program was started


ONE_FILE = (
    "def add(a: int, b: int) -> int:\n    return a + b\n\n\n"
    "def main() -> None:\n    print(add(2, 3))\n\n\n"
    'if __name__ == "__main__":\n    main()\n'
)
ONE_FILE_TESTS = "from main import add\n\n\ndef test_add() -> None:\n    assert add(2, 3) == 5\n"


def test_a_one_file_program_gets_its_own_tests(tmp_path: Path, openai_server: OpenAIServer) -> None:
    # What a small model is asked for (max_files: 1): the whole program in main.py, which QA tests too.
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", ONE_FILE, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": ONE_FILE_TESTS},
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert company.calls.count("tests:main.py") == 1
    log = _log(tmp_path / "workspace" / "snake")
    assert ("QaEngineer", "Add tests for main.py") in log, log
    assert "QA:       round 1: 1 tests passed, 0 failed, entry point: clean exit" in result.stdout
    # The tests are asked for as a turn after the conversation that wrote the file, byte for byte, so a server's
    # prefix cache serves the whole writing prompt and the file when the tests are asked for right after it.
    tests_request = company.requests["WriteTests"][0]
    assert tests_request[1]["content"] == company.prompts["main.py"]
    assert tests_request[2] == {
        "role": "assistant",
        "content": f"```python\n{company.files['main.py'].code.rstrip()}\n```",
    }


class _CopiesTheModule(ScriptedQaCompany):
    """The first test file answered is a copy of the module (no test in it), as the 0.5B's tic-tac-toe was."""

    def __call__(self, request: RecordedRequest) -> Reply:
        messages = (request.json or {}).get("messages", [])
        # The first ask for tests ends with the WriteTests turn; the one sent back ends with the complaint.
        if "## Action: WriteTests" in str(messages[-1].get("content")):
            self.calls.append("tests:copy")
            return Text(f"```python\n{ONE_FILE}```\n", usage=(100, 50))
        return super().__call__(request)


def test_a_test_file_with_no_test_is_sent_back_once(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = _CopiesTheModule(
        [ScriptedFile("main.py", ONE_FILE, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": ONE_FILE_TESTS},
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert company.calls.count("tests:copy") == 1 and company.calls.count("tests:main.py") == 1
    assert "no test function in the answer" in result.stderr
    assert "QA:       round 1: 1 tests passed, 0 failed" in result.stdout


def test_names_a_test_uses_from_its_module_without_importing_them_are_imported() -> None:
    from devteam.actions.write_tests import with_module_imports

    module = (
        "LIMIT = 3\n\n\ndef convert_length(x):\n    return x\n\n\nclass Unit:\n    pass\n\n\ndef _hidden():\n    pass\n"
    )
    tests = "import pytest\n\n\ndef test_length():\n    unit = Unit()\n    assert convert_length(LIMIT) == 3\n"
    completed, added = with_module_imports(tests, module, "tools.converter")
    assert added == ["LIMIT", "Unit", "convert_length"]
    assert completed.startswith("from tools.converter import LIMIT, Unit, convert_length\n")
    imported = "from tools.converter import LIMIT, Unit, convert_length\n" + tests
    assert with_module_imports(imported, module, "tools.converter") == (imported, [])
    assert with_module_imports("def broken(:\n", module, "m") == ("def broken(:\n", [])


def test_a_fix_the_model_cannot_give_ends_the_round_not_the_run(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = _CutOff("FixCode", "fix:cut", "```python\nclass Board:\n    def __init__(self")
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    assert company.calls.count("fix:cut") == 6  # each of 3 candidates: asked, asked again with twice the budget
    assert "no usable fix for snake/board.py" in result.stderr
    assert "QA:       round 1: 3 tests passed, 1 failed" in result.stdout


ONE_CLASS = (
    "class Todo:\n    def __init__(self) -> None:\n        self.items: list[str] = []\n\n"
    "    def add(self, item: str) -> list[str]:\n        self.items.append(item)\n        return self.items\n\n\n"
    'if __name__ == "__main__":\n    print(Todo().add("milk"))\n'
)
# As the 0.5B wrote them for its 2048 game and unit converter: a method imported as a module function.
METHOD_AS_FUNCTION_TESTS = (
    "from main import Todo, add\n\n\ndef test_add() -> None:\n    todo = Todo()\n    assert add('milk') == ['milk']\n"
)


def test_tests_that_import_a_method_as_a_function_call_it_on_the_tests_object(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", ONE_CLASS, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": METHOD_AS_FUNCTION_TESTS},
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    project = tmp_path / "workspace" / "snake"
    run_log = (project / ".devteam" / "run.log").read_text()
    assert "repair_test_method_call: tests/test_main.py imported add (Todo method)" in run_log
    tests = (project / "tests" / "test_main.py").read_text()
    assert "from main import Todo\n" in tests and "assert todo.add('milk') == ['milk']" in tests
    # without the repair: an ImportError, no test run
    assert "QA:       round 1: 1 tests passed, 0 failed" in result.stdout


def test_tests_that_carry_a_copy_of_the_module_test_the_module_itself(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    # As the 0.5B's todo tests did: the module's class rewritten (wrongly) in the test file, the tests run on it.
    copying = "class Todo:\n    def add(self, item):\n        return []\n\n\ndef test_add() -> None:\n    assert Todo().add('milk') == ['milk']\n"
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", ONE_CLASS, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": copying},
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    project = tmp_path / "workspace" / "snake"
    assert (
        "repair_test_module_copy: tests/test_main.py carried its own copy of Todo"
        in (project / ".devteam" / "run.log").read_text()
    )
    tests = (project / "tests" / "test_main.py").read_text()
    assert tests.startswith("from main import Todo\n") and "return []" not in tests
    assert "QA:       round 1: 1 tests passed, 0 failed" in result.stdout  # the module's add, not the copy's


def test_a_bare_name_the_module_defines_is_imported_from_it_not_from_the_standard_library(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """`mean` is both the data script's own function and `statistics.mean`: a test that calls it without an
    import means the module under test's."""
    module = (
        "def mean(values):\n    return round(sum(values) / len(values), 1) if values else 0.0\n\n\n"
        'if __name__ == "__main__":\n    print(mean([1, 2]))\n'
    )
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", module, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": "def test_mean_of_nothing():\n    assert mean([]) == 0.0\n"},
    )
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)

    assert result.code == 0, result.output
    tests = (tmp_path / "workspace" / "snake" / "tests" / "test_main.py").read_text()
    assert "from main import mean\n" in tests and "statistics" not in tests
    assert "QA:       round 1: 1 tests passed, 0 failed" in result.stdout  # statistics.mean([]) would raise


# The board is right; the tests (as a 0.5B wrote its own) expect the snake to grow on every step.
WRONG_EXPECTATION_TESTS = TESTS.replace("assert len(board.snake) == 3", "assert len(board.snake) == 4")
CORRECT_SNAKE = [
    SNAKE_FILES[0],
    ScriptedFile("snake/board.py", FIXED_BOARD, [], "Board: snake, food, score, step(), turn()"),
    SNAKE_FILES[2],
]


STILL_WRONG_LENGTH = """\
def test_length_stays_the_same_without_food() -> None:
    board = Board()
    board.step()
    assert len(board.snake) == 5
"""
RIGHT_LENGTH = STILL_WRONG_LENGTH.replace("== 5", "== 3")


def _run_with_the_board_kept(
    tmp_path: Path, server: OpenAIServer, test_fixes: list[str]
) -> tuple[ScriptedQaCompany, Path, CliResult]:
    """A run whose board's fix comes back as written, and whose failing test's fixes are `test_fixes`."""
    company = ScriptedQaCompany(
        CORRECT_SNAKE,
        fixes={"snake/board.py": FIXED_BOARD},
        tests={"snake/board.py": WRONG_EXPECTATION_TESTS},
        test_fixes={"test_length_stays_the_same_without_food": test_fixes},
    )
    server.set_handler(company)
    _configure(tmp_path, server)
    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)
    assert result.code == 0, result.output
    return company, tmp_path / "workspace" / "snake", result


def test_when_the_code_is_kept_the_failing_test_is_fixed_on_its_own(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company, root, result = _run_with_the_board_kept(tmp_path, openai_server, [STILL_WRONG_LENGTH, RIGHT_LENGTH])

    assert _log(root)[-4:] == [
        ("QaEngineer", "Add tests for snake/board.py"),
        ("QaEngineer", "1 of 4 tests fail, python -m snake: clean exit (round 1)"),
        ("Engineer", "Fix tests/test_board.py (QA round 1)"),
        ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 2)"),
    ]
    # The board's fix came back as it was, in its thread and asked again on its own, then twice warmer (each on
    # its own: in its thread the 0.5B copies the file even warm); then the failing test alone, twice.
    # Between them, which of 3 and 4 is right was asked in both orders; named once each, it settled nothing.
    asked = [call for call in company.calls if not call.startswith("check_expected:")]
    assert asked[-6:] == 4 * ["fix:snake/board.py"] + 2 * ["fix_test:test_length_stays_the_same_without_food"]
    assert company.calls.count("check_expected:len(board.snake)") == 2
    threads = ["you wrote above" in request[-1]["content"] for request in company.requests["FixCode"][:4]]
    assert threads == [True, False, False, False]
    temperatures = [
        request.json.get("temperature")
        for request in openai_server.requests
        if request.json and "Action: FixCode" in str(request.json.get("messages"))
    ][:4]
    assert temperatures == [0.0, 0.0, 0.6, 0.9]
    run_log = (root / ".devteam" / "run.log").read_text()
    assert "fix_candidate: snake/board.py, candidate 3 (temperature 0.9): the file as it was" in run_log
    # The test's fix shows the test, pytest's report of it and the board's code it calls, and says the code stays.
    prompt = company.requests["FixTest"][0][-1]["content"]
    assert "`snake/board.py` stays as it is" in prompt
    assert "assert len(board.snake) == 4" in prompt and "E   assert 3 == 4" in prompt
    assert "The code gives `3` where the test expects `4`." in prompt
    assert "def step(self) -> None:" in prompt and "def turn(" not in prompt  # the methods it calls, not all
    assert "def test_step_moves_the_head" not in prompt  # the other tests are not shown
    # The first answer still failed: judged in a throwaway copy, never written; the second passes.
    assert (
        "test_candidate: tests/test_board.py::test_length_stays_the_same_without_food, candidate 1 (temperature as "
        "configured): 3 tests pass, 1 fail, starts; as it is: 3 tests pass, 1 fail, starts" in run_log
    )
    assert "candidate 2 (temperature 0.6): 4 tests pass, 0 fail, starts" in run_log
    assert "the failing tests tests/test_board.py are asked for instead" in result.stderr
    tests = (root / "tests" / "test_board.py").read_text()
    assert "assert len(board.snake) == 3" in tests and "== 5" not in tests
    assert tests.count("def test_") == 4  # the other tests as they were
    assert (root / "snake" / "board.py").read_text().strip() == FIXED_BOARD.strip()


HOLLOWED_TEST = "def test_length_stays_the_same_without_food() -> None:\n    Board().step()\n    assert True\n"
MOCKED_TEST = """\
from unittest.mock import patch


def test_length_stays_the_same_without_food() -> None:
    board = Board()
    with patch.object(Board, "step"):
        board.step()
    assert len(board.snake) == 3
"""

# The 0.5B's password generator: the checks moved into a function the test only defines, which never runs.
NESTED_TEST = """\
def test_length_stays_the_same_without_food() -> None:
    def test_inner() -> None:
        board = Board()
        board.step()
        assert len(board.snake) == 3
"""


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        (HOLLOWED_TEST, "the answer no longer checks snake/board.py; not kept"),
        (MOCKED_TEST, "the answer puts stand-ins (mocks) in place of the code it tests; not kept"),
        (NESTED_TEST, "the answer no longer checks snake/board.py; not kept"),
    ],
    ids=["assert-true", "mock", "nested"],
)
def test_a_test_fix_that_no_longer_checks_the_code_is_not_kept(
    tmp_path: Path, openai_server: OpenAIServer, answer: str, refusal: str
) -> None:
    _, root, result = _run_with_the_board_kept(tmp_path, openai_server, [answer])

    assert refusal in result.stderr
    assert "the Engineer's fix changed nothing; QA stops here" in result.stderr
    assert (root / "tests" / "test_board.py").read_text() == WRONG_EXPECTATION_TESTS
    assert [m for a, m in _log(root) if a == "Engineer" and m.startswith("Fix ")] == []


def _qa_run(tmp_path: Path, server: OpenAIServer, company: ScriptedQaCompany) -> Path:
    """A run with QA against `company`, finished; the project's folder."""
    server.set_handler(company)
    _configure(tmp_path, server)
    result = run_metagpt([IDEA, "--no-code-review", "--run-tests"], cwd=tmp_path, timeout=240)
    assert result.code == 0, result.output
    return tmp_path / "workspace" / "snake"


class _WarmerFixes(ScriptedQaCompany):
    """A board fix that breaks the program at temperature 0 and fixes it when asked warmer."""

    def __call__(self, request: RecordedRequest) -> Reply:
        temperature = (request.json or {}).get("temperature") or 0
        self.fixes["snake/board.py"] = FIXED_BOARD if temperature >= 0.6 else "import no_such_module\n" + BUGGY_BOARD
        return super().__call__(request)


def test_a_candidate_fix_is_written_only_when_the_checks_score_it_better(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = _WarmerFixes()
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-3:] == [
        ("QaEngineer", "1 of 4 tests fail, python -m snake: clean exit (round 1)"),
        ("Engineer", "Fix snake/board.py (QA round 1)"),
        ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 2)"),
    ]
    # The first candidate broke the import: judged in a throwaway copy, never written; the second was better.
    run_log = (root / ".devteam" / "run.log").read_text()
    assert (
        "fix_candidate: snake/board.py, candidate 1 (temperature as configured): no test runs (1 error), does not "
        "start; as it is: 3 tests pass, 1 fail, starts" in run_log
    )
    assert "candidate 2 (temperature 0.6): 4 tests pass, 0 fail, starts" in run_log
    assert company.calls.count("fix:snake/board.py") == 2
    with git.Repo(root) as repo:  # no version of the board the project ever committed holds the broken import
        versions = [repo.git.show(f"{c.hexsha}:snake/board.py") for c in repo.iter_commits(paths="snake/board.py")]
    assert len(versions) == 2 and not any("no_such_module" in text for text in versions)  # written, fixed
    assert (root / "snake" / "board.py").read_text().strip() == FIXED_BOARD.strip()


def test_fix_candidates_one_asks_one_fix_and_zero_is_refused(tmp_path: Path, openai_server: OpenAIServer) -> None:
    company = ScriptedQaCompany(fixes={"snake/board.py": BUGGY_BOARD + "\n# still wrong\n"})
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    refused = run_metagpt([IDEA, "--run-tests", "--fix-candidates", "0"], cwd=tmp_path)
    assert refused.code != 0 and "--fix-candidates must be 1 or more" in refused.output
    assert "Traceback" not in refused.output and company.calls == []

    result = run_metagpt(
        [IDEA, "--no-code-review", "--run-tests", "--qa-rounds", "1", "--fix-candidates", "1"],
        cwd=tmp_path,
        timeout=240,
    )
    assert result.code == 0, result.output
    assert company.calls.count("fix:snake/board.py") == 1
    assert company.calls.count("tests:snake/board.py") == 1  # a failing test file is not written again either


# The board's step fails inside itself (an attribute set nowhere, as the 0.5B's snake did): the function is asked.
BROKEN_STEP_BOARD = FIXED_BOARD.replace("        self.snake.insert(0, head)", "        self.body.insert(0, head)")
STILL_BROKEN_STEP = """\
def step(self) -> None:
    self.segments.insert(0, (0, 0))
"""
FIXED_STEP = FIXED_BOARD[FIXED_BOARD.index("    def step(self)") :]


def test_a_failure_inside_a_function_is_fixed_in_that_function_alone(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany(
        [SNAKE_FILES[0], ScriptedFile("snake/board.py", BROKEN_STEP_BOARD, [], "Board"), SNAKE_FILES[2]],
        fixes={},
        function_fixes={"Board.step": [STILL_BROKEN_STEP, FIXED_STEP]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-3:] == [
        ("QaEngineer", "4 of 4 tests fail, python -m snake: fails (round 1)"),
        ("Engineer", "Fix snake/board.py (QA round 1)"),
        ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 2)"),
    ]
    # Two short calls for the one function; the whole board was never asked for (the entry point, which only
    # called it, was: no function of it failed).
    assert company.calls.count("fix_function:Board.step") == 2 and "fix:snake/board.py" not in company.calls
    prompt = company.requests["FixFunction"][0][-1]["content"]
    assert "The program's start (`python -m snake`) fails inside `Board.step` of `snake/board.py`" in prompt
    assert "AttributeError: 'Board' object has no attribute 'body'" in prompt
    assert "self.width, self.height, self.snake, self.direction, self.food, self.score, self.over" in prompt
    assert "self.body.insert(0, head)" in prompt and "def turn(self, direction: str) -> None:" in prompt  # outline
    assert "def __init__(self, width" not in prompt.split("## The function to correct")[1]  # only the function
    run_log = (root / ".devteam" / "run.log").read_text()
    assert "function_candidate: snake/board.py:Board.step, candidate 1 (temperature as configured): 0 tests pass" in (
        run_log
    )
    assert "function_candidate: snake/board.py:Board.step, candidate 2 (temperature 0.6): 4 tests pass" in run_log
    board = (root / "snake" / "board.py").read_text()
    assert "self.snake.insert(0, head)" in board and "self.body" not in board and "segments" not in board
    assert board.count("def step(") == 1 and "def turn(" in board  # spliced in place, the rest as it was


def test_when_every_fix_of_the_code_is_no_fix_at_all_the_failing_test_is_asked(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The 0.5B's 2048: asked to fix `main.py`, it answered with its tests (a file that imports itself). That
    is no fix, so the code stays — and the tests are asked for, as when the code came back unchanged."""
    company = ScriptedQaCompany(
        CORRECT_SNAKE,
        fixes={"snake/board.py": WRONG_EXPECTATION_TESTS},
        tests={"snake/board.py": WRONG_EXPECTATION_TESTS},
        test_fixes={"test_length_stays_the_same_without_food": [RIGHT_LENGTH]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-2:] == [
        ("Engineer", "Fix tests/test_board.py (QA round 1)"),
        ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 2)"),
    ]
    run_log = (root / ".devteam" / "run.log").read_text()
    assert "the answer is not a fix (the file imports itself" in run_log
    assert "the failing tests tests/test_board.py are asked for instead" in run_log
    assert (root / "snake" / "board.py").read_text().strip() == FIXED_BOARD.strip()


def test_a_rewrite_of_the_code_that_scores_the_same_is_not_kept_while_a_test_fails(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The 0.5B's converter: correct code rewritten twice into the same score, its wrong tests never asked. A
    rewrite that changes nothing the checks see is not written while a test fails: the tests are asked."""
    company = ScriptedQaCompany(
        CORRECT_SNAKE,
        fixes={"snake/board.py": FIXED_BOARD.replace("Snake game logic", "The snake's game logic")},
        tests={"snake/board.py": WRONG_EXPECTATION_TESTS},
        test_fixes={"test_length_stays_the_same_without_food": [RIGHT_LENGTH]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-3:] == [
        ("QaEngineer", "1 of 4 tests fail, python -m snake: clean exit (round 1)"),
        ("Engineer", "Fix tests/test_board.py (QA round 1)"),
        ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 2)"),
    ]
    run_log = (root / ".devteam" / "run.log").read_text()
    assert "fix_candidate: snake/board.py, candidate 1 (temperature as configured): 3 tests pass, 1 fail, starts" in (
        run_log
    )
    assert (root / "snake" / "board.py").read_text().strip() == FIXED_BOARD.strip()  # the rewrite never written


# A candidate that asserts nothing of the module: never a choice, whatever the program makes of it.
CHECKS_NOTHING = """\
from snake.board import Board


def test_board_exists() -> None:
    Board()
    assert True
"""


def test_tests_the_program_fails_are_written_again_and_the_version_it_passes_is_committed(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The 0.5B's tests guessed wrong as often as its code (a converter's 10 m as 1.0 km): written again warmer,
    the version the program agrees with is kept — never one that checks the module less than the first did."""
    company = ScriptedQaCompany(
        CORRECT_SNAKE, fixes={}, tests={"snake/board.py": [WRONG_EXPECTATION_TESTS, CHECKS_NOTHING, TESTS]}
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-2:] == [
        ("QaEngineer", "Add tests for snake/board.py"),
        ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 1)"),
    ]
    written = (root / "tests" / "test_board.py").read_text()
    assert "assert len(board.snake) == 3" in written and "== 4" not in written
    asked = [(request.json or {}) for request in openai_server.requests]
    assert [body.get("temperature") for body in asked if "## Action: WriteTests" in str(body)][1:] == [0.6, 0.9]
    run_log = (root / ".devteam" / "run.log").read_text()
    label = "tests_candidate: tests/test_board.py"
    assert f"{label}, candidate 1 (temperature as configured): 3 tests pass, 1 fail, starts" in run_log
    assert f"{label}, candidate 2 (temperature 0.6): not a choice: 0 of its tests check the module, where 3 did" in (
        run_log
    )
    assert f"{label}, candidate 3 (temperature 0.9): 4 tests pass, 0 fail, starts; best so far: 3 tests pass" in (
        run_log
    )


WORDS = (
    "import sys\n\n\n"
    "def count_words(path: str) -> int:\n"
    "    with open(path) as file:\n"
    "        return len(file.read().split())\n\n\n"
    "def main() -> None:\n"
    "    print(count_words(sys.argv[1]) if len(sys.argv) > 1 else 'usage: main.py FILE')\n\n\n"
    'if __name__ == "__main__":\n'
    "    main()\n"
)
# The 0.5B's word-frequency tests read a file nobody wrote.
READS_A_MISSING_FILE = (
    "from main import count_words\n\n\n"
    "def test_counts_the_words() -> None:\n"
    "    assert count_words('example.txt') == 3\n"
)
WRITES_ITS_FILE_FIRST = """\
def test_counts_the_words():
    path = tmp_path / "example.txt"
    path.write_text("one two three")
    assert count_words(str(path)) == 3
"""


def test_a_test_that_reads_a_file_nobody_wrote_is_asked_to_write_it_in_tmp_path(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", WORDS, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": READS_A_MISSING_FILE},
        test_fixes={"test_counts_the_words": [WRITES_ITS_FILE_FIRST]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-2:] == [
        ("Engineer", "Fix tests/test_main.py (QA round 1)"),
        ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)"),
    ]
    prompt = company.requests["FixTest"][0][-1]["content"]
    assert "The test reads `example.txt`, which does not exist where the tests run" in prompt
    assert 'path = tmp_path / "example.txt"' in prompt
    assert "def test_counts_the_words(tmp_path) -> None:" in prompt  # the header to answer with
    # The answer's header lacked the fixture: the test asks pytest for it, since its body uses it.
    tests = (root / "tests" / "test_main.py").read_text()
    assert "def test_counts_the_words(tmp_path) -> None:" in tests and "path.write_text" in tests


# The board's tests as the 0.5B wrote a snake's: `board` a fixture nobody defined, then a name nobody bound.
TESTS_WITHOUT_THEIR_BOARD = TESTS.replace(
    "def test_step_moves_the_head() -> None:\n    board = Board()\n", "def test_step_moves_the_head(board) -> None:\n"
).replace(
    "def test_hitting_the_wall_ends_the_game() -> None:\n    board = Board()\n",
    "def test_hitting_the_wall_ends_the_game() -> None:\n",
)


def test_the_objects_written_tests_use_and_never_make_are_made(tmp_path: Path, openai_server: OpenAIServer) -> None:
    assert TESTS_WITHOUT_THEIR_BOARD.count("Board()") == 2
    company = ScriptedQaCompany(CORRECT_SNAKE, fixes={}, tests={"snake/board.py": TESTS_WITHOUT_THEIR_BOARD})
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-1] == ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 1)")
    tests = (root / "tests" / "test_board.py").read_text()
    assert "@pytest.fixture\ndef board():\n    return Board()\n" in tests
    assert "def test_hitting_the_wall_ends_the_game() -> None:\n    board = Board()\n" in tests
    run_log = (root / ".devteam" / "run.log").read_text()
    assert (
        "repair_test_object: tests/test_board.py uses objects of snake/board.py it never makes (fixtures: board; "
        "names: board); made as the file makes them" in run_log
    )


# Tests that do not parse and never import the module: the 0.5B's tic-tac-toe tests (`assert x: "message"`).
UNPARSABLE_TESTS = TESTS.replace("from snake.board import Board\n", "").replace(
    "    assert board.over\n", '    assert board.over: "the game is over"\n'
)


class _AnswersTestsWithTheModule(ScriptedQaCompany):
    """Asked to fix the test file, whatever the failure, the model gives back its module."""

    def __call__(self, request: RecordedRequest) -> Reply:
        if "## Action: FixCode\nFix the file `tests/test_board.py`" in asked((request.json or {}).get("messages", [])):
            self.calls.append("fix:tests/test_board.py")
            return Text(f"```python\n{FIXED_BOARD}```\n", usage=(100, 100))
        return super().__call__(request)


def test_a_rewrite_of_tests_that_import_nothing_is_still_kept_only_with_tests_in_it(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    # The plan's own test file (QA writes none: a version of its own that does not parse is no choice).
    planned_tests = ScriptedFile("tests/test_board.py", UNPARSABLE_TESTS, ["snake/board.py"], "the board's tests")
    company = _AnswersTestsWithTheModule([*CORRECT_SNAKE, planned_tests], fixes={})
    root = _qa_run(tmp_path, openai_server, company)

    # Asked for the tests, the model gave back its module: no test in it, so never written over the tests.
    assert "fix:tests/test_board.py" in company.calls
    run_log = (root / ".devteam" / "run.log").read_text()
    assert "the fix of tests/test_board.py is not kept: 0 of its tests check anything" in run_log
    assert "import" not in UNPARSABLE_TESTS
    assert (root / "tests" / "test_board.py").read_text().strip() == UNPARSABLE_TESTS.strip()
    assert not [message for author, message in _log(root) if message.startswith("Fix ")]


GAME_AND_BOARD = (
    "class Board:\n"
    "    def __init__(self) -> None:\n"
    "        self.cells = [' '] * 9\n\n"
    "    def is_full(self) -> bool:\n"
    "        return ' ' not in self.cells\n\n\n"
    "class Game:\n"
    "    def __init__(self) -> None:\n"
    "        self.board = Board()\n\n\n"
    'if __name__ == "__main__":\n'
    "    print(Game().board.is_full())\n"
)
# The 0.5B's tic-tac-toe tests asked `is_full` of the game; the board has it.
ASKS_THE_WRONG_CLASS = (
    "from main import Game\n\n\ndef test_a_new_board_is_not_full() -> None:\n    assert not Game().is_full()\n"
)
ASKS_THE_BOARD = "def test_a_new_board_is_not_full() -> None:\n    assert not Game().board.is_full()\n"


def test_a_test_that_asks_a_method_of_the_wrong_class_is_told_which_class_has_it(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", GAME_AND_BOARD, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": ASKS_THE_WRONG_CLASS},
        test_fixes={"test_a_new_board_is_not_full": [ASKS_THE_BOARD]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    prompt = company.requests["FixTest"][0][-1]["content"]
    assert "`Game` has no method `is_full`; `Board` has it: call\n`is_full` on an object of that class." in prompt
    assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")


TODO_LIST = (
    "class TodoList:\n"
    "    def __init__(self) -> None:\n"
    "        self.tasks: list[str] = []\n\n"
    "    def add_task(self, task: str) -> None:\n"
    "        self.tasks.append(task)\n\n\n"
    'if __name__ == "__main__":\n'
    "    TodoList().add_task('write tests')\n"
)
# The 0.5B's todo tests expected `True` of an `add_task` that returns nothing.
EXPECTS_A_VALUE_OF_NOTHING = (
    "from main import TodoList\n\n\ndef test_add_task() -> None:\n"
    "    todo = TodoList()\n    assert todo.add_task('write tests') == True\n"
)
CHECKS_WHAT_IT_CHANGED = (
    "def test_add_task() -> None:\n    todo = TodoList()\n    todo.add_task('write tests')\n"
    "    assert todo.tasks == ['write tests']\n"
)


def test_a_check_of_what_a_function_returns_when_it_returns_nothing_is_said_in_words(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", TODO_LIST, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": EXPECTS_A_VALUE_OF_NOTHING},
        test_fixes={"test_add_task": [CHECKS_WHAT_IT_CHANGED]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    function_prompt = company.requests["FixFunction"][0][-1]["content"]
    assert (
        "The code gives `None` where the test expects `True`. `add_task` has no\n`return` statement, so it gives"
        " `None`." in function_prompt
    )
    test_prompt = company.requests["FixTest"][0][-1]["content"]
    assert "`add_task` returns nothing (it has no `return`): expect no value of it." in test_prompt
    assert "the test's expected value is wrong" not in test_prompt  # not `== None`: that checks nothing
    assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")


CONVERTER = (
    "def meters_to_kilometers(meters: float) -> float:\n    return meters / 1000\n\n\n"
    'if __name__ == "__main__":\n    print(meters_to_kilometers(10))\n'
)
# The 0.5B's unit converter tests: 10 m as 1.0 km, written again in every FixTest answer.
EXPECTS_THE_WRONG_VALUE = (
    "import pytest\nfrom main import meters_to_kilometers\n\n\n"
    "def test_meters_to_kilometers() -> None:\n    assert meters_to_kilometers(10) == pytest.approx(1.0)\n"
)
WRITES_THE_WRONG_VALUE_AGAIN = (
    "def test_meters_to_kilometers() -> None:\n    assert meters_to_kilometers(10) == pytest.approx(1.0) * 1\n"
)


@pytest.mark.parametrize("named", ["0.01", "1.0", "first"])
def test_which_of_two_values_is_right_is_asked_in_both_orders_and_the_code_s_kept_only_when_named_twice(
    tmp_path: Path, openai_server: OpenAIServer, named: str
) -> None:
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", CONVERTER, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": EXPECTS_THE_WRONG_VALUE},
        test_fixes={"test_meters_to_kilometers": [WRITES_THE_WRONG_VALUE_AGAIN]},
        right_values={"meters_to_kilometers(10)": named},
    )
    root = _qa_run(tmp_path, openai_server, company)

    asked = [messages[-1]["content"] for messages in company.requests["CheckExpected"][:2]]
    assert "one says `0.01`, the other `1.0`." in asked[0]
    assert "one says `1.0`, the other `0.01`." in asked[1]  # the same question, the options in the other order
    assert "return meters / 1000" not in asked[0]  # what the call must give, not what the code does
    tests = (root / "tests" / "test_main.py").read_text()
    run_log = (root / ".devteam" / "run.log").read_text()
    if named == "0.01":
        assert "meters_to_kilometers(10) == pytest.approx(0.01)" in tests
        assert "expected_value: tests/test_main.py::test_meters_to_kilometers: the code's 0.01 in place of 1.0" in (
            run_log
        )
        assert "fix_test:test_meters_to_kilometers" not in company.calls
        assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")
    else:  # the test's value, or each value once (the first option both times): the test is asked as before
        assert "pytest.approx(0.01)" not in tests
        assert "fix_test:test_meters_to_kilometers" in company.calls
        assert _log(root)[-1][1].startswith("1 of 1 tests fail")


KM_BY_MULTIPLYING = "def meters_to_kilometers(meters: float) -> float:\n    return meters * 0.001\n"
KM_WRONGLY = "def meters_to_kilometers(meters: float) -> float:\n    return meters / 10\n"


@pytest.mark.parametrize("versions", [[KM_BY_MULTIPLYING], [KM_BY_MULTIPLYING] * 3 + [KM_WRONGLY], []])
def test_a_disputed_value_is_settled_by_the_function_written_anew_before_any_choice_is_asked(
    tmp_path: Path, openai_server: OpenAIServer, versions: list[str]
) -> None:
    """Both new versions give the code's 0.01: the test takes it, and no choice is asked. Versions that give
    two values, or none written, decide nothing: the choice is asked as before (here it names the first
    option both times: no answer). The first two new versions are the code fix's last candidates (giving
    0.01 too, they are no better: not kept)."""
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", CONVERTER, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": EXPECTS_THE_WRONG_VALUE},
        new_versions={"meters_to_kilometers": versions},
    )
    root = _qa_run(tmp_path, openai_server, company)

    tests = (root / "tests" / "test_main.py").read_text()
    run_log = (root / ".devteam" / "run.log").read_text()
    vote = "value_vote: tests/test_main.py::test_meters_to_kilometers: meters_to_kilometers written anew: "
    if versions == [KM_BY_MULTIPLYING]:
        asked = company.requests["WriteAnew"][0][-1]["content"]
        assert "def meters_to_kilometers(meters: float) -> float:\n    <its body>" in asked
        assert "return meters / 1000" not in asked and "pytest.approx(1.0)" not in asked  # neither side shown
        assert f"{vote}0.01, 0.01; the code gives 0.01, the test expects 1.0: the code's value" in run_log
        assert "CheckExpected" not in company.requests
        assert "meters_to_kilometers(10) == pytest.approx(0.01)" in tests
        assert (root / "main.py").read_text() == CONVERTER  # the new versions only testify
        assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")
    else:
        shown = "0.01, 1.0 (the test passes)" if versions else "no new version"
        assert f"{vote}{shown}; the code gives 0.01, the test expects 1.0: no vote" in run_log
        assert len(company.requests["CheckExpected"]) == 2
        assert "pytest.approx(0.01)" not in tests


POUNDS = (
    "def kilograms_to_pounds(kilograms: float) -> float:\n    return kilograms * 2.2046\n\n\n"
    'if __name__ == "__main__":\n    print(kilograms_to_pounds(1))\n'
)
# The 0.5B's converter tests: a right value first, then wrong ones, all of one function in one test.
POUNDS_TESTS = (
    "from main import kilograms_to_pounds\n\n\n"
    "def test_kilograms_to_pounds() -> None:\n"
    "    assert kilograms_to_pounds(1) == 2.2046\n"
    "    assert kilograms_to_pounds(5) == 10.0\n"
    "    assert kilograms_to_pounds(3.75) == 12.64\n"
)
# Written anew, the constant has a digit more: 2.20462 fails the first assert, and agrees with the code after it.
POUNDS_ANEW = "def kilograms_to_pounds(kilograms: float) -> float:\n    return kilograms * 2.20462\n"


def test_each_disputed_value_asks_the_new_versions_that_value_alone_written_once_a_round(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """A new version is asked only the disputed value: the test's other asserts do not fail its run (the
    first assert, right for the code's 2.2046, is wrong for a version's 2.20462 — before, "a failure
    elsewhere", no vote). The two wrong literals take the code's values, and the versions are written once
    for both disputes."""
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", POUNDS, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": POUNDS_TESTS},
        new_versions={"kilograms_to_pounds": [POUNDS_ANEW]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    run_log = (root / ".devteam" / "run.log").read_text()
    vote = "value_vote: tests/test_main.py::test_kilograms_to_pounds: kilograms_to_pounds written anew: "
    assert f"{vote}11.0231, 11.0231; the code gives 11.023, the test expects 10.0: the code's value" in run_log
    assert f"{vote}8.267325, 8.267325; the code gives 8.26725, the test expects 12.64: the code's value" in run_log
    tests = (root / "tests" / "test_main.py").read_text()
    # (Floats compared through `pytest.approx`, as QA writes them: the version's 2.20462 still fails the first.)
    assert "kilograms_to_pounds(5) == pytest.approx(11.023)\n" in tests
    assert "kilograms_to_pounds(3.75) == pytest.approx(8.26725)\n" in tests
    assert "kilograms_to_pounds(1) == pytest.approx(2.2046)\n" in tests  # the assert no one disputed, as it was
    assert "CheckExpected" not in company.requests
    # The code fix's two candidates written anew, then the vote's two versions, once for both disputes.
    assert len(company.requests["WriteAnew"]) == 4
    assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")


# Every snake of the 0.5B: the built-in `len` where a number belongs, given back by every FixFunction answer.
BUILT_IN_MISUSED = (
    "from random import randint\n\n\nclass Snake:\n    def __init__(self, length):\n        self.length = length\n"
    "        self.body = [(randint(0, len - 1), 0) for _ in range(length)]\n\n\n"
    'if __name__ == "__main__":\n    print(len(Snake(3).body))\n'
)
SNAKE_ANEW = "def __init__(self, length):\n    self.length = length\n    self.body = [(i, 0) for i in range(length)]\n"
SNAKE_LENGTH = "from main import Snake\n\n\ndef test_length():\n    assert len(Snake(3).body) == 3\n"


def test_a_function_no_fix_corrects_is_written_anew_without_its_body_and_kept_when_better(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", BUILT_IN_MISUSED, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": SNAKE_LENGTH},
        function_fixes={"Snake.__init__": [BUILT_IN_MISUSED.split("\n\n\n")[1]]},  # given back as it was
        new_versions={"Snake.__init__": ["def __init__(self, length):\n    self.body = [(0, 0)] * len", SNAKE_ANEW]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    asked = company.requests["WriteAnew"][0][-1]["content"]
    assert "len - 1" not in asked  # the body it would copy is not shown
    run_log = (root / ".devteam" / "run.log").read_text()
    label = "function_candidate: main.py:Snake.__init__"
    assert f"{label}, candidate 4 (written anew, temperature as configured): 0 tests pass, 1 fail" in run_log
    assert f"{label}, candidate 5 (written anew, temperature 0.6): 1 tests pass, 0 fail" in run_log
    assert "self.body = [(i, 0) for i in range(length)]" in (root / "main.py").read_text()
    assert "FixCode" not in company.requests  # a function kept: the whole file is not asked
    assert _log(root)[-2:] == [
        ("Engineer", "Fix main.py (QA round 1)"),
        ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)"),
    ]


NUMBERS = (
    "import sys\n\n\ndef read_numbers(path):\n    with open(path) as file:\n        return [int(line) for line in file]"
    '\n\n\nif __name__ == "__main__":\n    print(read_numbers(sys.argv[1]) if len(sys.argv) > 1 else [])\n'
)
# The 0.5B's CSV and word-frequency tests: a file read from the folder the tests run in, which nobody wrote.
READS_A_FILE_NOBODY_WROTE = (
    "from main import read_numbers\n\n\ndef test_reads_the_numbers():\n"
    '    assert read_numbers("data.txt") == [1, 2, 3]\n'
)


@pytest.mark.parametrize("contents", [["1 2 3", "1\n2\n3"], ["data.txt", "one"]])
def test_a_file_a_test_reads_and_nobody_wrote_is_asked_for_and_written_by_the_test_first(
    tmp_path: Path, openai_server: OpenAIServer, contents: list[str]
) -> None:
    """Its content is asked of the model, warmer while the test still fails; the test writes it into its
    `tmp_path` first. A content that helps nothing (or is the file's name) is never kept."""
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", NUMBERS, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": READS_A_FILE_NOBODY_WROTE},
        input_files={"data.txt": contents},
    )
    root = _qa_run(tmp_path, openai_server, company)

    asked = company.requests["WriteInputFile"][0][-1]["content"]
    assert "reads the file `data.txt`, which does not exist yet" in asked
    assert "return [int(line) for line in file]" in asked  # the code that reads it
    tests = (root / "tests" / "test_main.py").read_text()
    run_log = (root / ".devteam" / "run.log").read_text()
    label = "input_file: tests/test_main.py::test_reads_the_numbers, data.txt"
    assert not (root / "data.txt").exists()  # the test's own, in its tmp_path: nothing beside the code
    if contents[1] == "1\n2\n3":
        assert f"{label} 2 (temperature 0.6), 3 lines, written first by the test: 1 tests pass" in run_log
        assert "def test_reads_the_numbers(tmp_path):\n    (tmp_path / 'data.txt').write_text('1\\n2\\n3\\n')" in tests
        assert "fix_test:test_reads_the_numbers" not in company.calls
        assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")
    else:
        assert "the answer is the file's name, not its content" in run_log
        assert "write_text" not in tests
        assert "fix_test:test_reads_the_numbers" in company.calls  # FixTest, as before
        assert _log(root)[-1][1].startswith("1 of 1 tests fail")


def test_a_function_written_anew_as_the_code_has_it_votes_for_the_code_s_value(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The 0.5B, not shown its `meters / 1000.0`, wrote it again, twice: the code's value, with nothing to run."""
    own_body = CONVERTER.split("\n\n\n")[0] + "\n"
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", CONVERTER, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": EXPECTS_THE_WRONG_VALUE},
        new_versions={"meters_to_kilometers": [own_body]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert (
        "value_vote: tests/test_main.py::test_meters_to_kilometers: meters_to_kilometers written anew: 0.01 (the"
        " code's own body), 0.01 (the code's own body); the code gives 0.01, the test expects 1.0: the code's value"
    ) in (root / ".devteam" / "run.log").read_text()
    assert "meters_to_kilometers(10) == pytest.approx(0.01)" in (root / "tests" / "test_main.py").read_text()
    assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")


BOARD_CELLS = (
    "def is_valid_move(cell: int) -> bool:\n    return 0 <= cell <= 9\n\n\n"
    'if __name__ == "__main__":\n    print(is_valid_move(3))\n'
)
NINE_CELLS = "def is_valid_move(cell: int) -> bool:\n    return 0 <= cell < 9\n"
TENTH_CELL = (
    "from main import is_valid_move\n\n\ndef test_there_is_no_tenth_cell() -> None:\n    assert not is_valid_move(9)\n"
)


def test_a_function_whose_every_new_version_passes_the_test_is_replaced_by_the_first(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The code's author kept `<= 9` (FixFunction gave it back); written anew, twice `< 9`: the code is what is
    wrong, and the first new version is kept as its fix, judged by the checks like any other."""
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", BOARD_CELLS, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": TENTH_CELL},
        new_versions={"is_valid_move": [NINE_CELLS]},
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert "return 0 <= cell < 9" in (root / "main.py").read_text()
    assert "assert not is_valid_move(9)" in (root / "tests" / "test_main.py").read_text()
    assert "CheckExpected" not in company.requests
    assert _log(root)[-2:] == [
        ("Engineer", "Fix main.py (QA round 1)"),
        ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)"),
    ]


MOVES = (
    "def is_valid_move(cell: int) -> bool:\n    return 0 <= cell < 9\n\n\n"
    'if __name__ == "__main__":\n    print(is_valid_move(3))\n'
)
WANTS_IT_FALSE = (
    "from main import is_valid_move\n\n\ndef test_a_cell_is_a_move() -> None:\n    assert not is_valid_move(3)\n"
)


@pytest.mark.parametrize("named", ["True", "first"])
def test_a_bool_the_test_wants_the_other_way_is_said_and_settled_when_named_twice(
    tmp_path: Path, openai_server: OpenAIServer, named: str
) -> None:
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", MOVES, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": WANTS_IT_FALSE},
        right_values={"is_valid_move(3)": named},
        # New versions that agree with the code on a bool: one bit, no vote; the choice decides.
        new_versions={"is_valid_move": ["def is_valid_move(cell: int) -> bool:\n    return cell in range(9)\n"]},
    )
    root = _qa_run(tmp_path, openai_server, company)
    assert (
        "value_vote: tests/test_main.py::test_a_cell_is_a_move: is_valid_move written anew: True, True; the code"
        " gives True, the test expects False: no vote (a bool)" in (root / ".devteam" / "run.log").read_text()
    )

    function_prompt = company.requests["FixFunction"][0][-1]["content"]
    assert "The code gives `True` where the test wants it false." in function_prompt
    asked = company.requests["CheckExpected"][0][-1]["content"]
    assert "disagree on what `is_valid_move(3)` gives: one says `True`, the other `False`." in asked
    tests = (root / "tests" / "test_main.py").read_text()
    if named == "True":
        assert "    assert is_valid_move(3)\n" in tests
        assert _log(root)[-1] == ("QaEngineer", "1 of 1 tests pass, python main.py: clean exit (round 2)")
    else:
        assert "assert not is_valid_move(3)" in tests


DICE = 'import random\n\n\ndef roll() -> int:\n    return random.randint(1, 10**9)\n\n\nif __name__ == "__main__":\n    print(roll())\n'
EXPECTS_ONE_ROLL = "from main import roll\n\n\ndef test_roll() -> None:\n    assert roll() == 7\n"


def test_a_value_the_code_gives_at_random_is_never_written_into_a_test(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The model names the code's value both times; the next run gives another: a test that would pass once."""
    company = ScriptedQaCompany(
        [ScriptedFile("main.py", DICE, [], "the whole program: starts it")],
        fixes={},
        tests={"main.py": EXPECTS_ONE_ROLL},
        right_values={"roll()": "other than 7"},
    )
    root = _qa_run(tmp_path, openai_server, company)

    assert company.calls.count("check_expected:roll()") == 2  # asked once: the next run's value is not asked
    assert "assert roll() == 7" in (root / "tests" / "test_main.py").read_text()
    assert "expected_value: tests/test_main.py::test_roll: roll() gives another value each run; not kept" in (
        (root / ".devteam" / "run.log").read_text()
    )


def test_tests_that_check_nothing_are_never_the_tests_even_when_they_pass(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    """The 0.5B's password generator: `assert True` three times, "3 of 3 pass" — and nothing tested."""
    company = ScriptedQaCompany(CORRECT_SNAKE, fixes={}, tests={"snake/board.py": [CHECKS_NOTHING, TESTS]})
    root = _qa_run(tmp_path, openai_server, company)

    assert _log(root)[-1] == ("QaEngineer", "4 of 4 tests pass, python -m snake: clean exit (round 1)")
    run_log = (root / ".devteam" / "run.log").read_text()
    label = "tests_candidate: tests/test_board.py"
    assert f"{label}, candidate 1 (temperature as configured): not a choice: none of its tests check the module" in (
        run_log
    )
    assert f"{label}, candidate 2 (temperature 0.6): 4 tests pass, 0 fail, starts; best so far: none" in run_log


@pytest.mark.parametrize("candidates", ["3", "1"])
def test_when_no_version_of_the_tests_checks_anything_qa_writes_none(
    tmp_path: Path, openai_server: OpenAIServer, candidates: str
) -> None:
    company = ScriptedQaCompany(CORRECT_SNAKE, fixes={}, tests={"snake/board.py": CHECKS_NOTHING})
    openai_server.set_handler(company)
    _configure(tmp_path, openai_server)

    result = run_metagpt(
        [IDEA, "--no-code-review", "--run-tests", "--fix-candidates", candidates], cwd=tmp_path, timeout=240
    )

    assert result.code == 0, result.output
    root = tmp_path / "workspace" / "snake"
    assert _log(root)[-1] == ("QaEngineer", "No tests, python -m snake: clean exit (round 1)")
    assert not (root / "tests" / "test_board.py").exists()
    assert company.calls.count("tests:snake/board.py") == int(candidates)
    assert "QA writes no tests for snake/board.py" in result.stderr
