"""Architect: PRD → system design with the file plan, committed as docs and mermaid diagrams.

One call (and at most one send-back): the framework is the design's own choice, judged by its checks.
"""

from __future__ import annotations

from devteam.actions.write_design import NAME as WRITE_DESIGN
from devteam.actions.write_design import write_design
from devteam.artifacts.documents import SystemDesign
from devteam.core.prompting import render_document
from devteam.core.safe_paths import project_name_from
from devteam.roles.base import Message, Role, RunContext
from devteam.roles.committed_docs import read_committed
from devteam.roles.messages import DesignWritten, PRDWritten
from devteam.roles.product_manager import PRD_JSON

DESIGN_JSON = "docs/system_design.json"


class Architect(Role):
    name = "Architect"
    profile = "a software architect"
    goal = "Design a small, testable program for the PRD, with a file plan whose files say what they depend on."
    watches = frozenset({"prd"})

    async def react(self, message: Message, run: RunContext) -> list[Message]:
        prd = message.expect(PRDWritten).prd
        repo = run.project(prd.project_name)
        committed = read_committed(repo, DESIGN_JSON, SystemDesign)
        if committed is not None and not run.incremental:
            run.progress.note(self.name, f"{WRITE_DESIGN} skipped: resuming from the committed {DESIGN_JSON}")
            return [Message("design", DesignWritten(prd, committed), self.name)]
        run.progress.start(self.name, WRITE_DESIGN)
        answer = await write_design(
            self.llm,
            self.persona,
            idea=run.idea,
            prd=prd,
            repair=run.repair,
            existing=committed,
            install_allowed=run.qa_install,
            prd_conversation=run.conversations.get(PRD_JSON),
        )
        design = answer.value
        repo.write_text(DESIGN_JSON, design.model_dump_json(indent=2))
        repo.write_text(
            "docs/system_design.md",
            render_document("system_design.md.j2", design=design, project_name=project_name_from(prd.project_name)),
        )
        repo.write_text("docs/diagrams/data_structures.mmd", design.data_structures_and_interfaces)
        repo.write_text("docs/diagrams/program_call_flow.mmd", design.program_call_flow)
        repo.commit(f"Add system design: {len(design.file_list)} files planned", author=self.name)
        run.progress.done(self.name, WRITE_DESIGN)
        return [Message("design", DesignWritten(prd, design), self.name)]
