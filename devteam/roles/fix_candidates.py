"""Candidates of one small fix (a function, a test), asked at the configured temperature and then warmer, each
judged by the project's checks before anything is written; the first the checks score better is kept.

The one loop the Engineer's function fixes and test fixes share (`engineer_function_fixes`,
`engineer_test_fixes`); the whole-file fix keeps its own, which also keeps an answer that scores the same when only the start failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from devteam.qa.fix_judge import CheckScore

log = logging.getLogger("devteam.engineer")

# The configured temperature (None), then warmer: at temperature 0 the 0.5B gave the file back unchanged in 31
# fixes over three suites. `--fix-candidates` sets how many; past the last, each is asked at the last.
CANDIDATE_TEMPERATURES: tuple[float | None, ...] = (None, 0.6, 0.9)


@dataclass(frozen=True)
class Kept:
    text: str  # the file as the kept candidate makes it
    score: CheckScore
    number: int  # which candidate


async def first_better(
    ask: Callable[[float | None], Awaitable[str | None]],
    judge: Callable[[str], Awaitable[CheckScore]],
    *,
    current: str,
    before: CheckScore,
    count: int,
    label: str,
    temperatures: Sequence[float | None] = CANDIDATE_TEMPERATURES,
    first_number: int = 1,
    kind: str = "",
) -> Kept | None:
    """Ask up to `count` candidates (`ask(temperature)` -> the file with the fix, or None) and return the first
    that `judge` scores better than `before`; each is a `label` line in the run's log, numbered from
    `first_number`, at `temperatures` in turn (past the last, at the last), `kind` said beside its temperature."""
    for index in range(max(count, 1)):
        number = first_number + index
        temperature = temperatures[min(index, len(temperatures) - 1)]
        shown = f"{label}, candidate {number} ({kind}temperature {temperature or 'as configured'})"
        candidate = await ask(temperature)
        if candidate is None:
            log.info("%s: no usable answer", shown)
            continue
        if candidate.strip() == current.strip():
            log.info("%s: as it was", shown)
            continue
        score = await judge(candidate)
        log.info("%s: %s; as it is: %s", shown, score.describe(), before.describe())
        if score > before:
            return Kept(candidate, score, number)
    return None
