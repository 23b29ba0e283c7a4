"""The part of a system design that concerns one planned file: the diagram lines that name it, its neighbours.

A WriteCode prompt that carries the whole class diagram, call flow and file plan repeats the same block in
every file's prompt — most of its tokens, and mostly about other files. A file needs its own classes, the
relations and calls they take part in, and the files next to it in the plan (what it uses, what uses it).
Diagrams are read line by line, so a diagram that is not quite mermaid still slices sensibly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.artifacts.file_plan import plan_key

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLASS = re.compile(r"^\s*class\s+([A-Za-z_][A-Za-z0-9_]*)")
_PARTICIPANT = re.compile(r"^\s*(?:participant|actor)\s+([A-Za-z_][A-Za-z0-9_]*)")
_CALL = re.compile(r"\b([a-z_][A-Za-z0-9_]*)\s*\(")
_OPENERS = ("loop", "alt", "opt", "par", "critical", "break", "rect", "box")
# The middle keyword each block may hold: `else` only in `alt`, `and` in `par`, `option` in `critical`.
_MIDDLES = {"alt": "else", "par": "and", "critical": "option"}
# How many plan neighbours besides dependencies and dependents: enough to place the file, not the whole plan.
MAX_SIBLINGS = 4


@dataclass(frozen=True)
class DesignSlice:
    class_diagram: str
    call_flow: str
    used_by: list[PlannedFile]
    siblings: list[PlannedFile]


def _norm(word: str) -> str:
    return word.replace("_", "").lower()


def own_names(planned: PlannedFile, design: SystemDesign, *, shown: frozenset[str] = frozenset()) -> set[str]:
    """The diagram names this file stands for, spelled exactly as the diagrams spell them: classes and
    participants its purpose names, the class its file is named after (`snake_game.py` for `SnakeGame`; never
    its folder: `snake/main.py` is not the class `Snake`), and the functions its purpose lists with
    parentheses — less the names `shown` (defined by its dependencies, whose code or interface the prompt
    carries already)."""
    declared = {m.group(1) for line in design.data_structures_and_interfaces.splitlines() if (m := _CLASS.match(line))}
    declared |= {m.group(1) for line in design.program_call_flow.splitlines() if (m := _PARTICIPANT.match(line))}
    path = PurePosixPath(plan_key(planned.path))
    stems = {"main"} if path.stem in ("__main__", "main") else {_norm(path.stem)}
    named = set(_WORD.findall(planned.purpose)) | {name for name in declared if _norm(name) in stems}
    functions = {name for name in _CALL.findall(planned.purpose) if len(name) > 2}
    return ((declared & named) | functions) - set(shown)


def names_any(line: str, names: set[str]) -> bool:
    return any(word in names for word in _WORD.findall(line))


def class_diagram_slice(diagram: str, names: set[str]) -> str:
    """The `classDiagram` header, the class blocks of `names`, and every other line that names one of them."""
    kept: list[str] = []
    lines = diagram.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _CLASS.match(line)
        if match and line.rstrip().endswith("{"):
            end = next((j for j in range(index + 1, len(lines)) if lines[j].strip() == "}"), len(lines) - 1)
            if match.group(1) in names:
                kept.extend(lines[index : end + 1])
            index = end + 1
            continue
        if line.strip() == "classDiagram" or names_any(line, names):
            kept.append(line)
        index += 1
    return "\n".join(kept) if any(line.strip() != "classDiagram" for line in kept) else ""


def call_flow_slice(flow: str, names: set[str]) -> str:
    """The `sequenceDiagram` header, the messages naming `names`, and the loop/alt blocks around them.

    The slice stays mermaid: every block it keeps is closed by its own `end`, an `else` never outlives its
    `alt`, and a block left open by the model is unwrapped (its messages kept, its opener and `else`s not)."""
    kept: list[str] = []
    open_blocks: list[list[int]] = []  # per open block: the index in `kept` of its opener, then of its middles
    kinds: list[str] = []  # the opener keyword of each open block
    for line in flow.splitlines():
        keyword = line.strip().split(" ", 1)[0].lower()
        if line.strip() == "sequenceDiagram":
            continue
        if keyword in _OPENERS:
            open_blocks.append([len(kept)])
            kinds.append(keyword)
            kept.append(line)
        elif keyword in _MIDDLES.values() and kinds and _MIDDLES.get(kinds[-1]) == keyword:
            open_blocks[-1].append(len(kept))
            kept.append(line)
        elif keyword == "end" and open_blocks:
            block = open_blocks.pop()
            kinds.pop()
            if any(names_any(inner, names) for inner in kept[block[0] + 1 :]):
                kept.append(line)
            else:
                del kept[block[0] :]
        elif keyword in _MIDDLES.values() or keyword == "end":
            continue  # an `else` or `end` of no (such) block: not mermaid, not kept
        elif names_any(line, names):
            kept.append(line)
    for block in reversed(open_blocks):  # openers never closed: keep what they hold, drop opener and middles
        for index in reversed(block):
            del kept[index]
    return "\n".join(["sequenceDiagram", *kept]) if kept else ""


def design_slice(
    design: SystemDesign,
    planned: PlannedFile,
    *,
    dependencies: dict[str, list[str]],
    shown: frozenset[str] = frozenset(),
) -> DesignSlice:
    """What `planned` needs of `design`. `dependencies` is the cleaned plan (path -> the paths it depends on,
    as `file_plan.build_levels` resolves them); the file's own dependencies are shown elsewhere, as code or
    interfaces, and `shown` are the names they define."""
    names = own_names(planned, design, shown=shown)
    key = plan_key(planned.path)
    others = [item for item in design.file_list if plan_key(item.path) != key]
    used_by = [item for item in others if key in dependencies.get(plan_key(item.path), [])]
    placed = {key, *dependencies.get(key, []), *(plan_key(item.path) for item in used_by)}
    folder = PurePosixPath(key).parent
    siblings = [
        item
        for item in others
        if plan_key(item.path) not in placed and PurePosixPath(plan_key(item.path)).parent == folder
    ]
    return DesignSlice(
        class_diagram=class_diagram_slice(design.data_structures_and_interfaces, names),
        call_flow=call_flow_slice(design.program_call_flow, names),
        used_by=used_by,
        siblings=siblings[:MAX_SIBLINGS],
    )
