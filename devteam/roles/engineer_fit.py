"""After the last level: every file written in this run is checked against the files it imports from (and the
required packages); a file that imports what does not exist goes back once to its writer (FitImports) with
the real interfaces, and the files that changed are committed together.

Files of one level are written in parallel, so a file may import a class its neighbour never wrote; only
after writing can that be seen.
"""

from __future__ import annotations

import asyncio
import logging

from devteam.actions.fit_imports import NAME as FIT_IMPORTS
from devteam.actions.fit_imports import fit_imports
from devteam.actions.persona import Persona
from devteam.artifacts.documents import SystemDesign
from devteam.artifacts.import_fit import import_misses
from devteam.core.errors import WorkspaceError
from devteam.llm.client import LLM
from devteam.roles.base import RunContext

log = logging.getLogger("devteam.engineer")


async def fit_written_files(
    llm: LLM, persona: Persona, design: SystemDesign, sources: dict[str, str], run: RunContext
) -> list[str]:
    """Check and, where needed, rewrite the files written in this run; returns the paths committed."""
    written = [path for path in sources if path in run.files_written and path.endswith(".py")]
    semaphore = asyncio.Semaphore(run.max_concurrency)
    snapshot = dict(sources)

    async def fit_one(path: str) -> str | None:
        async with semaphore:
            run.progress.start(persona.role, f"{FIT_IMPORTS} {path}")
            fixed = await fit_imports(
                llm, persona, path=path, sources=snapshot, required=list(design.required_packages), repair=run.repair
            )
            run.progress.done(persona.role, f"{FIT_IMPORTS} {path}", detail="rewritten" if fixed else "kept")
        return fixed

    # The check is cheap: only the files that miss are asked again.
    needing = [path for path in written if import_misses(path, snapshot[path], snapshot, design.required_packages)]
    results = await asyncio.gather(*(fit_one(path) for path in needing))
    repo = run.opened
    changed = []
    for path, fixed in zip(needing, results):
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
        repo.commit(f"Fit {', '.join(changed)} to the files it imports", author=persona.role, paths=changed)
    return changed
