"""The Architect's file plan as a dependency DAG: the Engineer writes it level by level.

Unknown dependencies are dropped and cycles broken deterministically, each with a log line, because a weak
model's plan is data to make the best of, not a reason to stop the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devteam.artifacts.documents import PlannedFile
from devteam.core.errors import WorkspaceError
from devteam.core.safe_paths import normalise_relative_path

if TYPE_CHECKING:
    import networkx as nx

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
    import networkx as nx  # here, not at the top: a run's start (and its first request) does not need it

    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(by_path)
    resolved: dict[str, str | None] = {}  # the same few names recur across a plan's dependency lists
    for path, planned in by_path.items():
        for raw in planned.depends_on:
            if raw not in resolved:
                resolved[raw] = resolve_dependency(raw, by_path)
            dependency = resolved[raw]
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


def resolve_dependency(raw: str, by_path: dict[str, PlannedFile]) -> str | None:
    """The planned path a `depends_on` entry means (a path, a module, a package or a bare file name), or None."""
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


MAX_CYCLE_LINES = 20  # beyond this many dropped edges, one summary line says what happened


def _break_cycles(graph: nx.DiGraph) -> None:
    """Drop the DFS back edges of every strongly connected part: O(files + dependencies), deterministic.

    The walk starts at the file planned earliest and follows dependents in plan order, so the edge dropped
    is the one into the file planned earlier — most likely the foundation of the others. (Finding one cycle
    at a time and dropping one edge is quadratic in the dependencies: 231 s for 300 files that all depend on
    each other.)
    """
    import networkx as nx

    order = {node: index for index, node in enumerate(graph.nodes)}
    dropped: list[tuple[str, str, list[str]]] = []
    components = [part for part in nx.strongly_connected_components(graph) if len(part) > 1]
    for part in sorted(components, key=lambda nodes: min(order[node] for node in nodes)):
        dropped += _back_edges(graph, part, order)
    for source, target, _ in dropped:
        graph.remove_edge(source, target)
    if len(dropped) <= MAX_CYCLE_LINES:
        for source, target, cycle in dropped:
            log.info("plan: dependency cycle %s; dropped %s -> %s", " -> ".join(cycle), source, target)
    else:
        files = sorted({node for source, target, _ in dropped for node in (source, target)}, key=order.__getitem__)
        shown = ", ".join(f"{source} -> {target}" for source, target, _ in dropped[:5])
        log.info(
            "plan: dependency cycles among %d files; dropped %d dependencies to break them (%s, ...)",
            len(files),
            len(dropped),
            shown,
        )


def _back_edges(graph: nx.DiGraph, part: set[str], order: dict[str, int]) -> list[tuple[str, str, list[str]]]:
    """Edges of `part` that close a cycle on an iterative depth-first walk, with the cycle each closes
    (spelled out only for the first few: a plan of 300 mutual dependencies has 45,000 of them)."""
    start = min(part, key=order.__getitem__)
    found: list[tuple[str, str, list[str]]] = []
    path: list[str] = [start]
    position = {start: 0}  # the nodes on the current path, and where
    done: set[str] = set()
    pending = [iter(_next_in(graph, start, part, order))]
    while pending:
        node = path[-1]
        following = next(pending[-1], None)
        if following is None:
            pending.pop()
            del position[path.pop()]
            done.add(node)
        elif following in position:
            cycle = path[position[following] :] + [following] if len(found) < MAX_CYCLE_LINES else []
            found.append((node, following, cycle))
        elif following not in done:
            position[following] = len(path)
            path.append(following)
            pending.append(iter(_next_in(graph, following, part, order)))
    return found


def _next_in(graph: nx.DiGraph, node: str, part: set[str], order: dict[str, int]) -> list[str]:
    return sorted((after for after in graph.successors(node) if after in part), key=order.__getitem__)


def folder_conflicts(keys: list[str]) -> dict[str, str]:
    """Planned files that another planned file needs as a folder (`app` and `app/main.py`): key -> the other.

    Both cannot exist; the file inside is kept, since its own plan entry says what goes there.
    """
    planned = set(keys)
    conflicts: dict[str, str] = {}
    for key in keys:
        parts = key.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if folder in planned and folder not in conflicts:
                conflicts[folder] = key
    return conflicts
