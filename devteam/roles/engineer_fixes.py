"""The Engineer's answer to a QA bug report: fix the implicated files, most likely first, in one commit.

A round that changes nothing publishes nothing, so QA stops there instead of re-running the same code.
"""

from __future__ import annotations

import asyncio
import logging

from devteam.actions.file_threads import thread_for
from devteam.actions.fix_code import NAME as FIX_CODE
from devteam.actions.fix_code import fix_code
from devteam.actions.persona import Persona
from devteam.core.errors import StructuredOutputError
from devteam.llm.client import LLM
from devteam.qa.program_checks import BugReport, is_test_path
from devteam.roles.base import Message, RunContext
from devteam.roles.messages import FixesCommitted

log = logging.getLogger("devteam.engineer")

MAX_FILES_PER_ROUND = 2
MAX_CONTEXT_FILES = 3


async def fix_reported_files(llm: LLM, persona: Persona, report: BugReport, run: RunContext) -> list[Message]:
    if not report.code_failure or not report.files:
        log.warning("QA round %d: the failure is not the code's; no file is sent to %s", report.round, FIX_CODE)
        return []
    repo = run.opened
    sources = {path: repo.read_text(path) or "" for path in report.files}
    # The code first: a test is rewritten only when the failure names no other file (else a fix could simply
    # bend the test to the bug). The other named files still go into each prompt as context.
    readable = [path for path in report.files if sources[path]]
    code = [path for path in readable if not is_test_path(path)]
    targets = code[:MAX_FILES_PER_ROUND] if code else readable[:1]
    semaphore = asyncio.Semaphore(run.max_concurrency)

    async def fix_one(path: str) -> str | None:
        context = {other: sources[other] for other in report.files if other != path}
        context = dict(list(context.items())[:MAX_CONTEXT_FILES])
        async with semaphore:
            run.progress.start(persona.role, f"{FIX_CODE} {path}")
            try:
                fixed = await fix_code(
                    llm,
                    persona,
                    design=report.design,
                    path=path,
                    code=sources[path],
                    failure=report.failure,
                    context=context,
                    repair=run.repair,
                    thread=thread_for(run.conversations, path, sources),
                )
            except StructuredOutputError as error:
                # A fix the model cannot give (cut off even with the budget doubled, as a 0.5B's markdown
                # converter was) leaves the file as it was: QA reports the round, the run is not lost.
                log.warning(
                    "QA round %d: no usable fix for %s (%s); the file stays as it was", report.round, path, error
                )
                fixed = None
            changed = fixed is not None and fixed.code.strip() != sources[path].strip()
            run.progress.done(persona.role, f"{FIX_CODE} {path}", detail="changed" if changed else "unchanged")
        if fixed is None or not changed:
            return None
        run.conversations[path] = fixed.conversation  # the next round's fix of this file continues it
        return fixed.code

    answered: dict[str, str | None] = {}

    async def fix_kept(path: str) -> None:
        answered[path] = await fix_one(path)

    try:
        results = await asyncio.gather(*(fix_kept(path) for path in targets), return_exceptions=True)
    except asyncio.CancelledError:
        # Stopped mid-round: a fix already answered is paid for; committed, a resume never asks for it again.
        _commit_fixes(targets, answered, run, persona, report.round)
        raise
    changed = _commit_fixes(targets, answered, run, persona, report.round)
    failures = [result for result in results if isinstance(result, BaseException)]
    if failures:
        raise failures[0]  # after the answered fixes are kept
    if not changed:
        log.warning("QA round %d: the Engineer's fix changed nothing; QA stops here", report.round)
        return []
    return [Message("fixed", FixesCommitted(report.round, tuple(changed)), persona.role)]


def _commit_fixes(
    order: list[str], answered: dict[str, str | None], run: RunContext, persona: Persona, round_number: int
) -> list[str]:
    repo = run.opened
    changed = []
    for path in order:  # the order asked, not the order answered
        fixed = answered.get(path)
        if fixed is not None:
            repo.write_text(path, fixed)
            changed.append(path)
    if changed:
        repo.commit(f"Fix {', '.join(changed)} (QA round {round_number})", author=persona.role, paths=changed)
    return changed
