"""How candidate fixes are ranked: the order `CheckScore` gives the versions of a project."""

from __future__ import annotations

from devteam.qa.fix_judge import CheckScore


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
