"""How candidate fixes are ranked: the order `CheckScore` gives the versions of a project."""

from __future__ import annotations

from pathlib import Path

from devteam.qa.box import choose_box
from devteam.qa.fix_judge import CheckScore, check_score

BOX = choose_box()


def test_all_passing_beats_starting_which_beats_more_passing_which_beats_fewer_failing() -> None:
    ranked = [
        CheckScore(all_pass=False, starts=False, passed=0, not_failing=-5),
        CheckScore(all_pass=False, starts=False, passed=0, not_failing=-2),
        CheckScore(all_pass=False, starts=False, passed=3, not_failing=-2),
        CheckScore(all_pass=False, starts=True, passed=0, not_failing=-4),
        CheckScore(all_pass=False, starts=True, passed=2, not_failing=-1),
        CheckScore(all_pass=True, starts=True, passed=1, not_failing=0),
    ]
    assert sorted(reversed(ranked)) == ranked
    assert ranked[2].describe() == "3 tests pass, 2 fail, does not start"


def test_with_the_same_counts_fewer_tests_ending_in_an_exception_of_the_code_rank_higher() -> None:
    raising = CheckScore(all_pass=False, starts=True, passed=0, not_failing=-7, not_crashing=-7)
    asserting = CheckScore(all_pass=False, starts=True, passed=0, not_failing=-7, not_crashing=0)

    assert asserting > raising
    assert raising.describe() == "0 tests pass, 7 fail (7 with an error), starts"
    assert asserting.describe() == "0 tests pass, 7 fail, starts"
    # Passing more still counts first.
    assert CheckScore(all_pass=False, starts=True, passed=1, not_failing=-6, not_crashing=-6) > asserting


def test_a_version_whose_tests_do_not_run_ranks_below_one_whose_tests_fail() -> None:
    failing = CheckScore(all_pass=False, starts=True, passed=0, not_failing=-2)
    stopped = CheckScore(all_pass=False, starts=True, passed=0, not_failing=-1, tests_run=False)

    assert failing > stopped
    assert stopped.describe() == "no test runs (1 error), starts"
    # Running tests comes before starting: the 0.5B's notes API fix that started as a bare HTTP server, its
    # notes classes gone, was kept over the code two tests passed on.
    assert CheckScore(all_pass=False, starts=False, passed=2, not_failing=-1) > stopped
    assert CheckScore(all_pass=False, starts=False, passed=0, not_failing=-1, tests_run=False) < stopped


WORDS = """\
import sys


def count(text):
    return len(text.split())


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("Usage: python words.py <text>")
        sys.exit(2)
    print(count(sys.argv[1]))
"""
# The 0.5B's word-frequency fix: the same code without its `__main__` guard, so importing it exits.
UNGUARDED = """\
import sys


def count(text):
    return len(text.split())


if len(sys.argv) != 2:
    print("Usage: python words.py <text>")
    sys.exit(2)
print(count(sys.argv[1]))
"""
TESTS = """\
from words import count


def test_two_words():
    assert count("a b") == 3


def test_one_word():
    assert count("a") == 2
"""


def test_a_fix_whose_module_exits_on_import_scores_below_the_tests_failing(tmp_path: Path) -> None:
    (tmp_path / "words.py").write_text(WORDS)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_words.py").write_text(TESTS)
    tracked = ["words.py", "tests/test_words.py"]
    purposes = {"words.py": "the whole program: starts it"}

    as_it_is = check_score(tmp_path, tracked, BOX, purposes=purposes)
    unguarded = check_score(tmp_path, tracked, BOX, purposes=purposes, overrides={"words.py": UNGUARDED})

    assert as_it_is.tests_run and as_it_is.not_failing == -2
    assert not unguarded.tests_run and unguarded.starts == as_it_is.starts  # both print a usage line
    assert unguarded < as_it_is
