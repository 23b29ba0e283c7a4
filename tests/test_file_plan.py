"""`build_levels`: the Architect's file plan as DAG levels, making the best of a weak model's plan."""

from __future__ import annotations

import itertools
import json
import logging
import subprocess
import sys

import pytest

from devteam.artifacts.documents import PlannedFile
from devteam.artifacts.file_plan import FileLevels, build_levels


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
    levels = build_levels(
        plan(
            ("main.py", ["left.py", "right.py"]),
            ("left.py", ["base.py"]),
            ("right.py", ["base.py"]),
            ("base.py", []),
        )
    )

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
    from devteam.artifacts.documents import PlannedFile as Planned
    from devteam.artifacts.file_plan import build_levels as levels_of

    plan = levels_of(
        [
            Planned(path="game/__init__.py", purpose=""),
            Planned(path="static/style.css", purpose=""),
            Planned(path="app.py", purpose="", depends_on=["game", "style.css"]),
        ]
    )
    assert plan.dependencies["app.py"] == ["game/__init__.py", "static/style.css"]


# -- a plan of nothing but cycles ----------------------------------------------------------------------------

_COMPLETE_PLAN = """
import json, logging, sys
from devteam.artifacts.documents import PlannedFile
from devteam.artifacts.file_plan import build_levels

lines = []
handler = logging.Handler()
handler.emit = lambda record: lines.append(record.getMessage())
logging.getLogger("devteam.plan").addHandler(handler)
logging.getLogger("devteam.plan").setLevel(logging.INFO)
names = [f"m{index:03d}.py" for index in range(int(sys.argv[1]))]
plan = [PlannedFile(path=n, purpose="", depends_on=[o for o in reversed(names) if o != n]) for n in names]
levels = build_levels(plan)
print(json.dumps({"levels": [[f.path for f in level] for level in levels.levels],
                  "dependencies": levels.dependencies, "log": lines}))
"""


def test_three_hundred_files_that_all_depend_on_each_other_are_ordered() -> None:
    """The worst plan a model can send; a child process so the old quadratic breaker fails, not hangs.

    The 60 s bound is only there to end the test; bench/file_plan_bench.py prints the real figure.
    """
    completed = subprocess.run(
        [sys.executable, "-c", _COMPLETE_PLAN, "300"], capture_output=True, text=True, timeout=60, check=True
    )
    result = json.loads(completed.stdout)

    names = [f"m{index:03d}.py" for index in range(300)]
    # The file planned first is the foundation; each later file keeps every earlier one as a dependency.
    assert result["levels"] == [[name] for name in names]
    assert result["dependencies"] == {name: names[:index] for index, name in enumerate(names)}
    (summary,) = result["log"]
    assert "cycles among 300 files" in summary and "dropped 44850 dependencies" in summary


def test_each_dropped_dependency_has_its_own_line_when_there_are_few(plan_log: pytest.LogCaptureFixture) -> None:
    names = [f"m{index}.py" for index in range(5)]
    levels = build_levels(plan(*((name, [other for other in names if other != name]) for name in names)))

    assert paths(levels) == [[name] for name in names]
    lines = plan_lines(plan_log)
    assert len(lines) == 10  # 5·4/2 dependencies dropped, one line each
    assert all("dependency cycle" in line for line in lines)
    assert "dropped m4.py -> m0.py" in "\n".join(lines)


def test_separate_cycles_are_broken_separately(plan_log: pytest.LogCaptureFixture) -> None:
    levels = build_levels(
        plan(
            ("a.py", ["b.py"]),
            ("b.py", ["a.py"]),
            ("c.py", ["d.py", "a.py"]),
            ("d.py", ["c.py"]),
            ("e.py", ["d.py"]),
        )
    )

    assert levels.dependencies == {"a.py": [], "b.py": ["a.py"], "c.py": ["a.py"], "d.py": ["c.py"], "e.py": ["d.py"]}
    assert [line.rsplit("; ", 1)[1] for line in plan_lines(plan_log)] == [
        "dropped b.py -> a.py",
        "dropped d.py -> c.py",
    ]
