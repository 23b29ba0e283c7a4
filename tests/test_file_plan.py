"""`build_levels`: the Architect's file plan as DAG levels, making the best of a weak model's plan."""

from __future__ import annotations

import itertools
import logging

import pytest

from devteam.artifacts import PlannedFile
from devteam.file_plan import FileLevels, build_levels


def plan(*entries: tuple[str, list[str]]) -> list[PlannedFile]:
    return [PlannedFile(path=path, purpose=f"the {path} file", depends_on=deps) for path, deps in entries]


def paths(levels: FileLevels) -> list[list[str]]:
    return [[planned.path for planned in level] for level in levels.levels]


@pytest.fixture
def plan_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="devteam.plan")
    return caplog


def plan_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "devteam.plan"]


# -- shapes -------------------------------------------------------------------------------------------------


def test_a_diamond_takes_three_levels() -> None:
    levels = build_levels(plan(
        ("main.py", ["left.py", "right.py"]),
        ("left.py", ["base.py"]),
        ("right.py", ["base.py"]),
        ("base.py", []),
    ))

    assert paths(levels) == [["base.py"], ["left.py", "right.py"], ["main.py"]]
    assert levels.dependencies == {
        "main.py": ["left.py", "right.py"],
        "left.py": ["base.py"],
        "right.py": ["base.py"],
        "base.py": [],
    }
    assert [f.path for f in levels.files] == ["base.py", "left.py", "right.py", "main.py"]


def test_independent_files_share_one_level_in_plan_order() -> None:
    levels = build_levels(plan(("d.py", []), ("b.py", []), ("c.py", []), ("a.py", [])))

    assert paths(levels) == [["d.py", "b.py", "c.py", "a.py"]]
    assert all(deps == [] for deps in levels.dependencies.values())


def test_an_empty_plan_has_no_levels() -> None:
    levels = build_levels([])

    assert levels.levels == []
    assert levels.dependencies == {}


def test_levels_keep_the_planned_file_objects() -> None:
    planned = plan(("a.py", []), ("b.py", ["a.py"]))

    levels = build_levels(planned)

    assert levels.levels[0][0] is planned[0]
    assert levels.levels[1][0] is planned[1]


# -- clean-up of a weak plan ------------------------------------------------------------------------------


def test_an_unknown_dependency_is_dropped_with_a_log_line(plan_log: pytest.LogCaptureFixture) -> None:
    levels = build_levels(plan(("app.py", ["utils.py", "requests"]), ("utils.py", [])))

    assert paths(levels) == [["utils.py"], ["app.py"]]
    assert levels.dependencies["app.py"] == ["utils.py"]
    lines = plan_lines(plan_log)
    assert len(lines) == 1
    assert "app.py" in lines[0] and "'requests'" in lines[0] and "not in the file plan" in lines[0]


def test_a_self_dependency_is_ignored(plan_log: pytest.LogCaptureFixture) -> None:
    levels = build_levels(plan(("a.py", ["a.py", "./a.py", "a"]), ("b.py", ["a.py"])))

    assert paths(levels) == [["a.py"], ["b.py"]]
    assert levels.dependencies == {"a.py": [], "b.py": ["a.py"]}
    assert plan_lines(plan_log) == []  # not a cycle, not unknown: nothing to report


@pytest.mark.parametrize("spelling", ["logic", "game.logic", "game/logic", "logic.py", "./game/logic.py"])
def test_module_names_resolve_to_planned_paths(spelling: str) -> None:
    levels = build_levels(plan(("game/logic.py", []), ("game/main.py", [spelling])))

    assert paths(levels) == [["game/logic.py"], ["game/main.py"]]
    assert levels.dependencies["game/main.py"] == ["game/logic.py"]


def test_a_module_name_does_not_match_a_longer_file_name() -> None:
    levels = build_levels(plan(("game/board.py", []), ("tests/test_board.py", []), ("app.py", ["board"])))

    assert levels.dependencies["app.py"] == ["game/board.py"]


def test_duplicate_paths_keep_the_first_entry(plan_log: pytest.LogCaptureFixture) -> None:
    first, duplicate, other = plan(("a.py", []), ("a.py", ["b.py"]), ("b.py", []))

    levels = build_levels([first, duplicate, other])

    assert paths(levels) == [["a.py", "b.py"]]
    assert levels.levels[0][0] is first
    assert levels.dependencies == {"a.py": [], "b.py": []}
    assert any("listed twice" in line for line in plan_lines(plan_log))


def test_dot_slash_and_bare_paths_are_the_same_file(plan_log: pytest.LogCaptureFixture) -> None:
    levels = build_levels(plan(("./a.py", []), ("a.py", []), ("b.py", ["./a.py"]), ("c.py", ["a.py"])))

    assert [f.path for f in levels.files] == ["./a.py", "b.py", "c.py"]
    assert set(levels.dependencies) == {"a.py", "b.py", "c.py"}
    assert levels.dependencies["b.py"] == levels.dependencies["c.py"] == ["a.py"]
    assert any("a.py is listed twice" in line for line in plan_lines(plan_log))


# -- cycles ---------------------------------------------------------------------------------------------


def test_a_two_cycle_drops_the_edge_into_the_earlier_planned_file(plan_log: pytest.LogCaptureFixture) -> None:
    levels = build_levels(plan(("model.py", ["view.py"]), ("view.py", ["model.py"])))

    assert paths(levels) == [["model.py"], ["view.py"]]
    assert levels.dependencies == {"model.py": [], "view.py": ["model.py"]}
    (line,) = plan_lines(plan_log)
    assert "dependency cycle" in line and "dropped view.py -> model.py" in line


def test_a_three_cycle_is_broken_once(plan_log: pytest.LogCaptureFixture) -> None:
    levels = build_levels(plan(("a.py", ["b.py"]), ("b.py", ["c.py"]), ("c.py", ["a.py"])))

    assert paths(levels) == [["a.py"], ["c.py"], ["b.py"]]
    assert levels.dependencies == {"a.py": [], "b.py": ["c.py"], "c.py": ["a.py"]}
    cycle_lines = [line for line in plan_lines(plan_log) if "dependency cycle" in line]
    assert len(cycle_lines) == 1
    assert "dropped b.py -> a.py" in cycle_lines[0]


CYCLIC = {
    "a.py": ["b.py", "c.py", "d.py"],
    "b.py": ["a.py", "c.py"],
    "c.py": ["b.py", "d.py", "a.py"],
    "d.py": ["a.py", "b.py"],
    "e.py": ["d.py", "e.py"],
}


def _summary(levels: FileLevels) -> tuple[list[list[str]], dict[str, list[str]]]:
    return paths(levels), levels.dependencies


def test_cycle_breaking_is_deterministic_whatever_the_dependency_order() -> None:
    reference = _summary(build_levels(plan(*CYCLIC.items())))

    for _ in range(3):
        assert _summary(build_levels(plan(*CYCLIC.items()))) == reference
    orderings = itertools.product(*(itertools.permutations(deps) for deps in CYCLIC.values()))
    for ordering in itertools.islice(orderings, 0, None, 7):
        shuffled = plan(*zip(CYCLIC, (list(deps) for deps in ordering)))
        assert _summary(build_levels(shuffled)) == reference
    # Every file still comes after what it kept as dependencies, and the result has no cycle left.
    levels, dependencies = reference
    position = {path: number for number, level in enumerate(levels) for path in level}
    assert all(position[dep] < position[path] for path, deps in dependencies.items() for dep in deps)
    assert sorted(position) == sorted(CYCLIC)


def test_package_and_bare_file_names_resolve() -> None:
    from devteam.artifacts import PlannedFile as Planned
    from devteam.file_plan import build_levels as levels_of

    plan = levels_of([
        Planned(path="game/__init__.py", purpose=""),
        Planned(path="static/style.css", purpose=""),
        Planned(path="app.py", purpose="", depends_on=["game", "style.css"]),
    ])
    assert plan.dependencies["app.py"] == ["game/__init__.py", "static/style.css"]
