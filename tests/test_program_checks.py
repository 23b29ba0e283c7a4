"""Reading what a generated project's tests and entry point said: counts, missing packages, suspects."""

from __future__ import annotations

from pathlib import Path

from devteam.qa.box import choose_box
from devteam.qa.program_checks import entry_command, implicated_files, missing_packages, run_tests, smoke_run

BOX = choose_box()


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_counts_come_from_a_real_pytest_run(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "calc.py": "def add(a, b):\n    return a - b\n",
            "tests/test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n\n"
            "def test_zero():\n    assert add(0, 0) == 0\n",
        },
    )
    run = run_tests(root, BOX)
    assert (run.passed, run.failed, run.errors) == (1, 1, 0)
    assert not run.ok
    assert implicated_files(run.output, root, ["calc.py", "tests/test_calc.py"]) == ["calc.py", "tests/test_calc.py"]


def test_the_deepest_frame_comes_first_and_tests_last(tmp_path: Path) -> None:
    root = _project(tmp_path, {"a.py": "", "pkg/b.py": "", "tests/test_a.py": ""})
    output = (
        f'  File "{root}/tests/test_a.py", line 3, in test_x\n'
        f'  File "{root}/a.py", line 9, in run\n'
        '  File "/usr/lib/python3/json/__init__.py", line 1, in loads\n'
        "pkg/b.py:12: in merge_rows\n"
    )
    assert implicated_files(output, root, ["a.py", "pkg/b.py", "tests/test_a.py"]) == [
        "pkg/b.py",
        "a.py",
        "tests/test_a.py",
    ]


def test_a_missing_package_is_told_apart_from_a_missing_project_module(tmp_path: Path) -> None:
    root = _project(tmp_path, {"game/__init__.py": "", "requirements.txt": "pygame>=2\nPyYAML\n"})
    output = (
        "ModuleNotFoundError: No module named 'pygame'\n"
        "ModuleNotFoundError: No module named 'game.missing'\n"
        "ImportError: No module named 'yaml.cyaml'\n"
        "ModuleNotFoundError: No module named 'graphics'\n"
    )
    # pygame and yaml (PyYAML) are required and missing here; game.missing is the project's own; graphics is
    # asked for by nothing: the code made it up, which is the code's failure, not a package to install.
    assert missing_packages(output, root) == ["pygame", "yaml"]
    assert missing_packages("ModuleNotFoundError: No module named 'graphics'\n", root) == []


def test_the_entry_point_is_found_and_a_server_that_keeps_running_counts_as_a_clean_start(tmp_path: Path) -> None:
    assert entry_command(["tool/__init__.py", "tool/__main__.py", "main.py"]) == ["-m", "tool"]
    assert entry_command(["lib.py"]) == ["lib.py"]  # the only module: what the README runs, QA starts
    assert entry_command(["lib.py", "util.py"]) is None
    root = _project(
        tmp_path, {"app.py": "import time\nprint('serving', flush=True)\nwhile True:\n    time.sleep(0.1)\n"}
    )
    smoke = smoke_run(root, ["app.py"], BOX)
    assert smoke is not None and smoke.verdict == "clean start" and smoke.ok


def test_a_program_that_asks_for_its_arguments_started_but_a_traceback_is_a_failure(tmp_path: Path) -> None:
    # The 0.5B's snake: `Usage: python snake_game.py <length>` and exit 1, started with no arguments.
    usage = "import sys\nif len(sys.argv) < 2:\n    print('Usage: python main.py <length>')\n    sys.exit(1)\n"
    smoke = smoke_run(_project(tmp_path / "a", {"main.py": usage}), ["main.py"], BOX)
    assert smoke is not None and smoke.verdict == "clean exit", smoke.output
    crash = "print('usage: main.py FILE')\nopen('missing.txt')\n"
    smoke = smoke_run(_project(tmp_path / "b", {"main.py": crash}), ["main.py"], BOX)
    assert smoke is not None and smoke.verdict == "fails", smoke.output


def test_an_interactive_program_that_waits_for_input_started(tmp_path: Path) -> None:
    # The 0.5B's unit converter: a menu, then input(); the box's stdin is closed, so the read ends in EOFError.
    waits = "print('1) length 2) weight')\nchoice = input('Enter the unit: ')\n"
    smoke = smoke_run(_project(tmp_path / "a", {"main.py": waits}), ["main.py"], BOX)
    assert smoke is not None and smoke.verdict == "clean start" and smoke.ok, smoke.output
    # An EOFError the program raises itself, or a crash before the read, is a failure.
    raises = "raise EOFError('broken archive')\n"
    smoke = smoke_run(_project(tmp_path / "b", {"main.py": raises}), ["main.py"], BOX)
    assert smoke is not None and smoke.verdict == "fails", smoke.output


def test_a_crashing_entry_point_is_a_code_failure(tmp_path: Path) -> None:
    root = _project(tmp_path, {"main.py": "raise RuntimeError('boom')\n"})
    smoke = smoke_run(root, ["main.py"], BOX)
    assert smoke is not None and smoke.verdict == "fails" and smoke.code_failure
    assert "RuntimeError: boom" in smoke.output


def test_a_curses_program_gets_a_pseudo_terminal_for_its_smoke_run(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "game.py": (
                "import curses\n\n\ndef main(screen):\n    screen.addstr(0, 0, 'SNAKE READY')\n    screen.refresh()\n"
                "    screen.nodelay(True)\n    screen.getch()\n\n\ncurses.wrapper(main)\nprint('bye')\n"
            )
        },
    )
    smoke = smoke_run(root, ["game.py"], BOX)
    assert smoke is not None and smoke.verdict == "clean exit", smoke.output
    assert "pseudo-terminal" in smoke.command and "SNAKE READY" in smoke.output
