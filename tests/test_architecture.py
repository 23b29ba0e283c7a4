"""The package reads as the pipeline: rooms in an order, imports pointing down it, no circles, no loose modules.

ARCHITECTURE.md describes the rooms; this test keeps the description true.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "devteam"

# Lowest first: a module may import from its own room and from rooms earlier in this list, never later.
ROOMS = [
    "core",
    "demos",
    "config",
    "llm",
    "structured",
    "artifacts",
    "workspace",
    "qa",
    "console",
    "actions",
    "roles",
    "run",
    "commands",
    "cli",
]
TOP_LEVEL_MODULES = {"__init__.py", "__main__.py", "cli.py"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "devteam"


def imports() -> nx.DiGraph:
    """Every `import devteam...` in the package, including those inside functions and TYPE_CHECKING blocks."""
    graph = nx.DiGraph()
    for path in PACKAGE.rglob("*.py"):
        source = module_name(path)
        graph.add_node(source)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("devteam"):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names if alias.name.startswith("devteam")]
            else:
                continue
            for target in targets:
                graph.add_edge(source, target)
    return graph


def test_no_module_lives_loose_in_the_package() -> None:
    loose = {path.name for path in PACKAGE.glob("*.py")} - TOP_LEVEL_MODULES
    assert not loose, f"every module belongs in a room: {sorted(loose)}"


def test_every_room_is_known() -> None:
    rooms = {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    assert rooms <= set(ROOMS), f"rooms missing from ARCHITECTURE.md's order: {sorted(rooms - set(ROOMS))}"


def test_no_import_circle() -> None:
    circles = [cycle for cycle in nx.simple_cycles(imports()) if len(cycle) > 1]
    assert not circles, circles


@pytest.mark.parametrize("room", ROOMS)
def test_imports_point_down_the_rooms(room: str) -> None:
    rank = ROOMS.index(room)
    upward = sorted(
        (source, target)
        for source, target in imports().edges
        if room_of(source) == room and room_of(target) in ROOMS and ROOMS.index(room_of(target)) > rank
    )
    assert not upward, f"{room} imports from rooms above it: {upward}"


def test_the_architecture_document_names_every_room() -> None:
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    missing = [room for room in ROOMS if room != "cli" and f"{room}/" not in text]
    assert not missing, missing
