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
