"""Engineer: the file plan → code, level by level of the dependency DAG, files of a level concurrently.

Each level ends in a commit, so an interrupted run keeps every finished level (and every finished file of
the level that failed) and `--resume` writes only what is missing.
"""

from __future__ import annotations

import asyncio
import logging

from devteam.actions.code_context import CodeContext, code_contexts
from devteam.actions.review_code import review_code
from devteam.actions.write_code import NAME as WRITE_CODE
from devteam.actions.write_code import WrittenFile, write_code
from devteam.artifacts.documents import PRD, PlannedFile, SystemDesign
from devteam.artifacts.file_plan import FileLevels, build_levels, folder_conflicts, plan_key
from devteam.artifacts.program_layout import is_test_path, planned_entry_point
from devteam.artifacts.requirements import REFUSED_MARKER, requirements_file
from devteam.core.errors import DevteamError, WorkspaceError
from devteam.core.prompting import render_document
from devteam.core.safe_paths import project_name_from
from devteam.llm.types import ChatMessage
from devteam.qa.program_checks import BugReport
from devteam.roles.base import Message, Role, RunContext
from devteam.roles.engineer_fit import fit_written_files
from devteam.roles.engineer_fixes import fix_reported_files
from devteam.roles.messages import CodeWritten, DesignWritten

log = logging.getLogger("devteam.engineer")


class Engineer(Role):
    name = "Engineer"
    profile = "a senior software engineer"
    goal = "Write complete, correct, readable code that follows the design exactly, one file at a time."
    watches = frozenset({"design", "bug_report"})

    async def react(self, message: Message, run: RunContext) -> list[Message]:
        if message.kind == "bug_report":  # from the QaEngineer (--run-tests)
            return await fix_reported_files(self.llm, self.persona, message.expect(BugReport), run)
        written = message.expect(DesignWritten)
        prd, design = written.prd, written.design
        repo = run.project(prd.project_name)
        plan = build_levels(design.file_list)
        refused = self._refuse_unwritable(plan, run)
        run.progress.expect_files(len(plan.files) - len(refused))
        sources: dict[str, str] = {}
        conversations = run.conversations  # path -> the request that wrote it, and its answer
        resumed: list[str] = []  # committed by an earlier run: kept, and fitted now if that run never got to it
        semaphore = asyncio.Semaphore(run.max_concurrency)
        for number, level in enumerate(plan.levels, 1):
            todo = self._files_to_write([p for p in level if plan_key(p.path) not in refused], run, sources, resumed)
            if not todo:
                continue
            answered: dict[str, WrittenFile] = {}
            try:
                results = await asyncio.gather(
                    *(
                        self._write_file(planned, prd, design, plan, sources, run, semaphore, answered)
                        for planned in todo
                    ),
                    return_exceptions=True,
                )
            except asyncio.CancelledError:
                # Stopped (Ctrl-C, SIGTERM) mid-level: the answers already received are paid for, so they are
                # written and committed before the stop goes on; --resume then asks only for the rest.
                kept = [planned for planned in todo if planned.path in answered]
                done = self._keep_written(
                    kept, [answered[planned.path] for planned in kept], run, sources, conversations
                )
                if done:
                    repo.commit(
                        f"Write {', '.join(done)} (level {number} of {len(plan.levels)}, interrupted)",
                        author=self.name,
                        paths=done,
                    )
                raise
            done = self._keep_written(todo, results, run, sources, conversations)
            if done:
                repo.commit(
                    f"Write {', '.join(done)} (level {number} of {len(plan.levels)})", author=self.name, paths=done
                )
            failures = [result for result in results if isinstance(result, BaseException)]
            if failures:
                raise failures[0]
        await fit_written_files(
            self.llm, self.persona, design, sources, run, resumed=resumed, conversations=conversations
        )
        self._write_project_files(prd, design, run)
        return [Message("code", CodeWritten(dict(sources)), self.name)]

    def _refuse_unwritable(self, plan: FileLevels, run: RunContext) -> set[str]:
        """Every planned path checked before any WriteCode call, so no answer is paid for and then thrown away.

        Returns the plan keys refused; each is noted on the console, in the log and in the summary.
        """
        repo = run.opened
        refused: dict[str, str] = {}
        for planned in plan.files:
            try:
                repo.check_planned(planned.path)
            except WorkspaceError as error:
                refused[plan_key(planned.path)] = getattr(error, "reason", str(error))
        keys = [plan_key(planned.path) for planned in plan.files if plan_key(planned.path) not in refused]
        for folder, inside in folder_conflicts(keys).items():
            refused[folder] = f"{inside} is planned too, so {folder} must be a folder"
        for planned in plan.files:
            reason = refused.get(plan_key(planned.path))
            if reason is not None:
                log.warning("refused planned file %r: %s", planned.path, reason)
                run.progress.note(self.name, f"refused {planned.path!r}: {reason}")
                run.files_refused.append(planned.path)
        return set(refused)

    def _files_to_write(
        self, level: list[PlannedFile], run: RunContext, sources: dict[str, str], resumed: list[str]
    ) -> list[PlannedFile]:
        """The level's files still to write: on --resume committed files are kept, and on --resume and --inc a
        file the user changed (or created) and has not committed is never overwritten."""
        repo = run.opened
        changed = repo.local_changes()
        todo = []
        for planned in level:
            key = repo.relative(planned.path)
            if repo.has_path_committed(key) and not run.incremental:
                sources[key] = repo.read_text(key) or ""
                resumed.append(key)
                run.progress.note(self.name, f"{key} already committed; kept")
                continue
            if key in changed:
                sources[key] = repo.read_text(key) or ""
                run.files_kept.append(key)
                log.warning("%s has local changes that are not committed; kept as it is, not rewritten", key)
                run.progress.note(
                    self.name, f"{key} has uncommitted local changes; kept (commit it or remove it to have it written)"
                )
                continue
            todo.append(planned)
        return todo

    async def _write_file(
        self,
        planned: PlannedFile,
        prd: PRD,
        design: SystemDesign,
        plan: FileLevels,
        sources: dict[str, str],
        run: RunContext,
        semaphore: asyncio.Semaphore,
        answered: dict[str, WrittenFile],
    ) -> WrittenFile:
        """Write (and review) one file; `answered` holds it from its first answer on, for an interrupted level."""
        contexts = code_contexts(design, planned, sources, plan.dependencies)
        key = run.opened.relative(planned.path)
        async with semaphore:
            run.progress.start(self.name, f"{WRITE_CODE} {key}")
            written = await write_code(
                self.llm,
                self.persona,
                prd=prd,
                design=design,
                planned=planned,
                contexts=contexts,
                repair=run.repair,
                idea=run.idea,
            )
            answered[planned.path] = written
            if run.code_review:
                written = await self._review(planned, design, written, contexts, run)
                answered[planned.path] = written  # the review's answer is paid for too
            review = f", review: {written.review}" if run.code_review else ""
            run.progress.done(
                self.name,
                f"{WRITE_CODE} {key}",
                detail=f"{len(written.code.splitlines())} lines{review}",
                file_written=True,
            )
        return written

    async def _review(
        self,
        planned: PlannedFile,
        design: SystemDesign,
        written: WrittenFile,
        contexts: list[CodeContext],
        run: RunContext,
    ) -> WrittenFile:
        """The reviewed file; a review that fails (no usable answer, a server error) keeps the written one."""
        try:
            return await review_code(
                self.llm,
                self.persona,
                idea=run.idea,
                design=design,
                planned=planned,
                written=written,
                contexts=contexts,
                repair=run.repair,
            )
        except DevteamError as error:
            log.warning("review of %s failed (%s); the file is kept as written", planned.path, error)
            written.review = "failed, kept as written"
            return written

    def _keep_written(
        self,
        todo: list[PlannedFile],
        results: list[WrittenFile | BaseException],
        run: RunContext,
        sources: dict[str, str],
        conversations: dict[str, list[ChatMessage]],
    ) -> list[str]:
        repo = run.opened
        done = []
        for planned, result in zip(todo, results):
            if isinstance(result, BaseException):
                continue
            key = repo.relative(planned.path)
            try:
                repo.write_text(key, result.code)
            except WorkspaceError as refused:
                log.warning("refused to write %r: %s", planned.path, refused)
                run.files_refused.append(planned.path)
                continue
            sources[key] = result.code
            if result.conversation:
                conversations[key] = result.conversation
            run.files_written.append(key)
            if result.compile_error:
                run.files_not_compiling.append(key)
            done.append(key)
        return done

    def _write_project_files(self, prd: PRD, design: SystemDesign, run: RunContext) -> None:
        """requirements.txt and the README, unless the plan already has them (then the plan's win)."""
        repo = run.opened
        # A project file the user changed and did not commit is theirs (--resume, --inc): never overwritten.
        planned = {plan_key(item.path) for item in design.file_list}
        not_ours = planned | repo.local_changes()
        extra: list[str] = []
        if "requirements.txt" not in not_ours:
            # Only PEP 508 names: pip reads this file as a command line (`-e`, `--index-url`, URLs, paths).
            packages, checked = requirements_file(design.required_packages)
            for line, reason in checked.refused:
                log.warning(
                    "%s: %r is left out of requirements.txt: %s", REFUSED_MARKER, run.redactor.text(line), reason
                )
            if checked.refused:
                run.ledger.add_repairs([REFUSED_MARKER])
            repo.write_text("requirements.txt", packages)
            extra.append("requirements.txt")
        if "README.md" not in not_ours:
            repo.write_text(
                "README.md",
                render_document(
                    "project_readme.md.j2",
                    prd=prd,
                    design=design,
                    project_name=project_name_from(prd.project_name),
                    run_command=_run_command(design),
                    test_command=_test_command(planned),
                ),
            )
            extra.append("README.md")
        if extra and repo.commit(f"Add {' and '.join(extra)}", author=self.name, paths=extra):
            run.files_written.extend(extra)


def _run_command(design: SystemDesign) -> str | None:
    entry = planned_entry_point(design.file_list)
    return entry.command if entry is not None else None


def _test_command(paths: set[str]) -> str | None:
    if any(is_test_path(path) and path.endswith(".py") for path in paths):
        return "python -m pytest"
    return None
