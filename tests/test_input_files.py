"""A file a test reads and nobody wrote, written into the test by the syntax tree; the result runs under pytest."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_runs import pytest_output

from devteam.artifacts.input_files import input_file_name, with_input_file

MODULE = "def read_numbers(path):\n    with open(path) as file:\n        return [int(line) for line in file]\n"
TESTS = '''\
from numbers_file import read_numbers


def test_reads_the_numbers():
    """Reads `data.txt`."""
    assert read_numbers("data.txt") == [1, 2, 3]


class TestMore:
    def test_sum(self):
        numbers = read_numbers('data.txt')
        assert sum(numbers) == 6
'''


def _project(root: Path, tests: str) -> Path:
    (root / "tests").mkdir(parents=True)
    (root / "numbers_file.py").write_text(MODULE)
    (root / "tests" / "test_numbers.py").write_text(tests)
    return root


def test_the_test_writes_the_file_first_in_tmp_path_and_reads_it_from_there(tmp_path: Path) -> None:
    before = pytest_output(_project(tmp_path / "before", TESTS))
    assert "FileNotFoundError" in before and "2 failed" in before

    once = with_input_file(TESTS, "test_reads_the_numbers", None, "data.txt", "1\n2\n3\n")
    assert once is not None
    both = with_input_file(once, "test_sum", "TestMore", "data.txt", "1\n2\n3\n")
    assert both is not None

    assert "def test_reads_the_numbers(tmp_path):" in both
    assert '    """Reads `data.txt`."""\n    (tmp_path / \'data.txt\').write_text(\'1\\n2\\n3\\n\')\n' in both
    assert "read_numbers(str(tmp_path / 'data.txt')) == [1, 2, 3]" in both
    assert "    def test_sum(self, tmp_path):" in both
    after = pytest_output(_project(tmp_path / "after", both))
    assert "2 passed" in after


def test_a_test_that_does_not_name_the_file_or_no_content_is_left_alone() -> None:
    assert with_input_file(TESTS, "test_reads_the_numbers", None, "other.txt", "1\n") is None
    assert with_input_file(TESTS, "test_reads_the_numbers", None, "data.txt", "") is None
    assert with_input_file(TESTS, "test_reads_the_numbers", None, "data.txt", "x" * 5000) is None
    assert with_input_file(TESTS, "test_missing", None, "data.txt", "1\n") is None
    one_line = "from m import f\n\ndef test_f(): assert f('data.txt')\n"
    assert with_input_file(one_line, "test_f", None, "data.txt", "1\n") is None


@pytest.mark.parametrize(
    ("name", "usable"),
    [
        ("data.csv", True),
        ("example.txt", True),
        ("tasks.json", True),
        (None, False),
        ("main.py", False),  # a module: the code's, not a test's input
        ("../secret", False),
        (".env", False),
        ("a/b.txt", False),
        ("x" * 100, False),
    ],
)
def test_only_a_plain_file_name_can_be_a_test_s_input_file(name: str | None, usable: bool) -> None:
    assert (input_file_name(name) is not None) is usable
