"""After the last level: every file written in this run is checked against the files it imports from (and the
required packages); a file that imports what does not exist goes back once to its writer (FitImports) with
the real interfaces, and the files that changed are committed together.

Files of one level are written in parallel, so a file may import a class its neighbour never wrote; only
after writing can that be seen. An import of a package nothing provides that the follow-up keeps is dropped
(`actions.fit_imports`), and each function that used it is written again, one at a time, told that the package is
not there (`actions.fill_function.written_anew`, `without=`): the 0.5B's markdown converter called `markdown.markdown`
in a standard-library program, and without its import the program failed on a NameError at its first call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping

from devteam.actions.fill_function import FileBrief, written_anew
from devteam.actions.fit_imports import NAME as FIT_IMPORTS
from devteam.actions.fit_imports import FittedFile, fit_imports
from devteam.actions.persona import Persona
from devteam.artifacts.documents import SystemDesign
from devteam.artifacts.function_source import functions_using
from devteam.artifacts.import_fit import import_misses, imports_any
from devteam.artifacts.program_layout import plan_purposes
from devteam.core.errors import WorkspaceError
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.roles.base import RunContext
from devteam.roles.fix_candidates import CANDIDATE_TEMPERATURES

log = logging.getLogger("devteam.engineer")
repair_log = logging.getLogger("devteam.repair")
_FIT_COMMIT_END = " to the files it imports"
WITHOUT_MARKER = "repair_function_without_import"
# Tries per function written without a dropped import: as configured, then warmer.
_WITHOUT_TRIES = 2
# At most this many functions of a file are written again without a dropped import: each costs up to two calls.
_MAX_FUNCTIONS_WITHOUT = 6


async def fit_written_files(
    llm: LLM,
    persona: Persona,
    design: SystemDesign,
    sources: dict[str, str],
    run: RunContext,
    *,
    resumed: Collection[str] = (),
    conversations: Mapping[str, list[ChatMessage]] | None = None,
) -> list[str]:
    """Check and, where needed, rewrite the files written in this run, and on `--resume` the `resumed` files (kept
    as an earlier run committed them) that no earlier fit named: that run stopped before or during this stage.
    Returns the paths committed."""
    fitted = _fitted_before(run, persona) if resumed else set()
    unfitted = set(resumed) - fitted
    written = [path for path in sources if (path in run.files_written or path in unfitted) and path.endswith(".py")]
    semaphore = asyncio.Semaphore(run.max_concurrency)
    snapshot = dict(sources)

    async def fit_one(path: str) -> str | None:
        async with semaphore:
            run.progress.start(persona.role, f"{FIT_IMPORTS} {path}")
            fitted = await fit_imports(
                llm,
                persona,
                path=path,
                sources=snapshot,
                required=list(design.required_packages),
                repair=run.repair,
                conversation=(conversations or {}).get(path),
            )
            fixed = await _written_without(llm, persona, design, run, path, fitted) if fitted else None
            run.progress.done(persona.role, f"{FIT_IMPORTS} {path}", detail="rewritten" if fixed else "kept")
        return fixed

    # The check is cheap: only the files that miss are asked again.
    needing = [path for path in written if import_misses(path, snapshot[path], snapshot, design.required_packages)]
    answered: dict[str, str | None] = {}

    async def fit_kept(path: str) -> None:
        answered[path] = await fit_one(path)

    try:
        results = await asyncio.gather(*(fit_kept(path) for path in needing), return_exceptions=True)
    except asyncio.CancelledError:
        # Stopped mid-stage: the fits already answered are paid for, so they are committed before the stop goes on.
        _commit_fits(needing, answered, sources, run, persona)
        raise
    changed = _commit_fits(needing, answered, sources, run, persona)
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        raise failures[0]  # after the answered fits are kept: a resume asks none of them again
    return changed


async def _written_without(
    llm: LLM, persona: Persona, design: SystemDesign, run: RunContext, path: str, fitted: FittedFile
) -> str:
    """`fitted`'s code with each function that uses a dropped import written again without it, where an answer
    no longer uses it (else the function is left as it was: its call still fails, and QA sees it)."""
    code = fitted.code
    using = functions_using(code, set(fitted.dropped_names))
    if not using:
        return code
    brief = FileBrief(path, plan_purposes(design.file_list).get(path, ""), run.idea, design, {})
    for name, class_name in using[:_MAX_FUNCTIONS_WITHOUT]:
        qualname = f"{class_name}.{name}" if class_name else name
        for number in range(_WITHOUT_TRIES):
            answer = await written_anew(
                llm,
                persona,
                code=code,
                name=name,
                class_name=class_name,
                brief=brief,
                without=fitted.dropped_modules,
                repair=run.repair,
                temperature=CANDIDATE_TEMPERATURES[min(number, len(CANDIDATE_TEMPERATURES) - 1)],
            )
            if (
                answer is not None
                and (name, class_name) not in functions_using(answer, set(fitted.dropped_names))
                and not imports_any(answer, set(fitted.dropped_modules))
            ):
                repair_log.info(
                    "%s: %s %s written without %s", WITHOUT_MARKER, path, qualname, ", ".join(fitted.dropped_modules)
                )
                llm.ledger.add_repairs([WITHOUT_MARKER])
                code = answer
                break
        else:
            log.warning(
                "%s %s: still uses %s after %d answers; left as it was",
                path,
                qualname,
                ", ".join(sorted(fitted.dropped_names)),
                _WITHOUT_TRIES,
            )
    return code


def _fitted_before(run: RunContext, persona: Persona) -> set[str]:
    """The files an earlier run's fit already rewrote (its "Fit a, b to the files it imports" commits)."""
    paths: set[str] = set()
    for commit in run.opened.history():
        first = commit.message.splitlines()[0] if commit.message else ""
        if commit.author == persona.role and first.startswith("Fit ") and first.endswith(_FIT_COMMIT_END):
            paths.update(first[len("Fit ") : -len(_FIT_COMMIT_END)].split(", "))
    return paths


def _commit_fits(
    order: list[str], answered: dict[str, str | None], sources: dict[str, str], run: RunContext, persona: Persona
) -> list[str]:
    repo = run.opened
    changed = []
    for path in order:  # the order asked, not the order answered
        fixed = answered.get(path)
        if fixed is None:
            continue
        try:
            repo.write_text(path, fixed)
        except WorkspaceError as refused:
            log.warning("refused to write %r: %s", path, refused)
            continue
        sources[path] = fixed
        changed.append(path)
    if changed:
        repo.commit(f"Fit {', '.join(changed)}{_FIT_COMMIT_END}", author=persona.role, paths=changed)
    return changed
