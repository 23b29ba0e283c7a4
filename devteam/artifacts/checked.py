"""What a check of an artifact returns, and how its certain fixes are logged.

Each fix is one log line that starts with its `repair_…` marker (users grep their log for them) and one marker
in `repairs`, which the run's summary counts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Generic, TypeVar

log = logging.getLogger("devteam.repair")

T = TypeVar("T")


@dataclass
class Checked(Generic[T]):
    """An artifact after its checks: the fixes made (markers, each logged) and the problems left for the model."""

    value: T
    repairs: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def note_repair(repairs: list[str], marker: str, detail: str) -> None:
    """Log one fix as `marker: detail`, and count the marker once per check."""
    log.info("%s: %s", marker, detail)
    if marker not in repairs:
        repairs.append(marker)
