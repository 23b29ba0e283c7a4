"""Records shipped with the package, so the offline demo works from any folder after a plain `pip install`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

# `--replay NAME` and `metagpt demo` resolve these names to a record inside the installed package.
SHIPPED_RECORDS = {"snake": "snake_game.jsonl", "snake_game": "snake_game.jsonl"}
DEMO_IDEA = "write a snake game"


def shipped_record(name: str) -> Path | None:
    """The path of a shipped record by its short name; None when `name` is not one."""
    filename = SHIPPED_RECORDS.get(name)
    if filename is None:
        return None
    return Path(str(resources.files(__name__) / filename))
