"""Reading a config2.yaml with bounds: a config file is a few dozen keys, so anything far bigger is refused.

PyYAML's safe loader still trusts the shape of its input: a 400-byte "billion laughs" of nested aliases
expands into gigabytes once anything walks it, a recursive anchor (`&a [*a]`) never ends, nesting a few
thousand levels deep overflows Python's stack inside the composer, and a NUL byte fails before parsing
starts. Each of those must end as a ConfigError naming the file, within moments, not as a traceback or an
exhausted machine. The limits are far above any real config and far below anything that hurts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devteam.core.errors import ConfigError

MAX_DEPTH = 64  # nested mappings/lists; a real config2.yaml goes 4 deep
MAX_NODES = 20_000  # values after expanding every alias; a real config2.yaml has well under 500

_OPENERS = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSERS = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


def load_bounded_yaml(path: Path, text: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree (for line numbers) and its data; a ConfigError for anything unbounded.

    Three passes, each bounded: the parser's events (a flat state machine) give the depth before the
    recursive composer runs; a walk of the composed nodes counts what aliases expand to and finds a node
    that contains itself; only then is the data constructed.
    """
    nul = text.find("\0")
    if nul >= 0:
        line = text.count("\n", 0, nul) + 1
        raise ConfigError(
            f"config file {path}:{line} contains a NUL byte (\\0); a config2.yaml is plain text: "
            "remove the byte, or write the file again from `metagpt --init-config`"
        )
    _check_depth(path, text)
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(path, node)
        data = loader.construct_document(node) if node is not None else None
    except RecursionError:
        raise ConfigError(_too_deep(path, None)) from None
    finally:
        loader.dispose()
    return node, data


def _check_depth(path: Path, text: str) -> None:
    loader = yaml.SafeLoader(text)
    depth = 0
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, _OPENERS):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ConfigError(_too_deep(path, event.start_mark))
            elif isinstance(event, _CLOSERS):
                depth -= 1
    finally:
        loader.dispose()


def _too_deep(path: Path, mark: Any) -> str:
    where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
    return (
        f"config file {where} nests mappings or lists more than {MAX_DEPTH} levels deep; a config2.yaml needs "
        f"a handful (llm: → pricing:): flatten it, or start again from `metagpt --init-config`"
    )


def _check_expansion(path: Path, root: yaml.Node) -> None:
    """Walk the node graph as the data will be built (aliases expanded), with a budget of MAX_NODES visits.

    Iterative, so the walk itself cannot overflow; a node met again on its own path is a recursive anchor.
    """
    visited = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            on_path.discard(id(node))
            continue
        if id(node) in on_path:
            raise ConfigError(
                f"config file {path}:{node.start_mark.line + 1} has an anchor that contains an alias of itself "
                "(a recursive anchor, like `&a [*a]`), which never ends; replace the alias with the values"
            )
        visited += 1
        if visited > MAX_NODES:
            raise ConfigError(
                f"config file {path} expands to more than {MAX_NODES:,} values once its aliases (*name) are "
                "replaced by their anchors (&name); a config2.yaml holds a few dozen: remove the repeated "
                "aliases"
            )
        if isinstance(node, yaml.CollectionNode):
            on_path.add(id(node))
            stack.append((node, True))
            children: list[yaml.Node] = []
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    children += [key, value]
            else:
                children = list(node.value)
            stack.extend((child, False) for child in reversed(children))
