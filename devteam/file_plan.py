"""The Architect's file plan as a dependency DAG: the Engineer writes it level by level.

Unknown dependencies are dropped and cycles broken deterministically, each with a log line, because a weak
model's plan is data to make the best of, not a reason to stop the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import networkx as nx

from devteam.artifacts import PlannedFile
from devteam.errors import WorkspaceError
from devteam.safe_paths import normalise_relative_path

log = logging.getLogger("devteam.plan")


@dataclass(frozen=True)
class FileLevels:
    levels: list[list[PlannedFile]]
    dependencies: dict[str, list[str]]  # path -> the planned paths it depends on, after clean-up

    @property
    def files(self) -> list[PlannedFile]:
        return [planned for level in self.levels for planned in level]


def plan_key(path: str) -> str:
    """The same key the workspace uses; an unsafe path keeps its text (the workspace refuses it later)."""
    try:
        return normalise_relative_path(path)
    except WorkspaceError:
        return path


def build_levels(plan: list[PlannedFile]) -> FileLevels:
    """Order the plan into levels; files of one level depend only on files of earlier levels."""
    by_path: dict[str, PlannedFile] = {}
    for planned in plan:
        key = plan_key(planned.path)
        if key in by_path:
            log.info("plan: %s is listed twice; keeping the first entry", key)
            continue
        by_path[key] = planned
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(by_path)
    for path, planned in by_path.items():
        for raw in planned.depends_on:
            dependency = _resolve_dependency(raw, by_path)
            if dependency is None:
                log.info("plan: %s depends on %r, which is not in the file plan; dropped", path, raw)
            elif dependency != path:
                graph.add_edge(dependency, path)
    _break_cycles(graph)
    order = {path: index for index, path in enumerate(by_path)}
    levels = [
        [by_path[path] for path in sorted(generation, key=order.__getitem__)]
        for generation in nx.topological_generations(graph)
    ]
    dependencies = {path: sorted(graph.predecessors(path), key=order.__getitem__) for path in by_path}
    return FileLevels(levels=levels, dependencies=dependencies)


def _resolve_dependency(raw: str, by_path: dict[str, PlannedFile]) -> str | None:
    candidate = plan_key(raw)
    if candidate in by_path:
        return candidate
    # Models often name a module ("logic", "game.logic"), a package ("game") or a bare file name ("style.css").
    dotted = candidate.removesuffix(".py").replace(".", "/")
    module_forms = (f"{dotted}.py", f"{dotted}/__init__.py")
    for path in by_path:
        if any(path == form or path.endswith("/" + form) for form in module_forms):
            return path
    named = [path for path in by_path if path.rsplit("/", 1)[-1] == candidate]
    return named[0] if len(named) == 1 else None


def _break_cycles(graph: nx.DiGraph) -> None:
    order = {node: index for index, node in enumerate(graph.nodes)}
    while True:
        try:
            cycle = nx.find_cycle(graph)
        except nx.NetworkXNoCycle:
            return
        # Drop the edge into the file planned earliest: it is most likely the foundation of the others.
        source, target = min(((u, v) for u, v, *_ in cycle), key=lambda edge: (order[edge[1]], order[edge[0]]))
        log.info("plan: dependency cycle %s; dropped %s -> %s", " -> ".join(u for u, *_ in cycle), source, target)
        graph.remove_edge(source, target)
