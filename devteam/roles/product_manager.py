"""ProductManager: idea → PRD, committed as docs/prd.{json,md} and the competitive chart."""

from __future__ import annotations

from devteam.actions.write_prd import NAME as WRITE_PRD
from devteam.actions.write_prd import write_prd
from devteam.artifacts.documents import PRD
from devteam.core.prompting import render_document
from devteam.core.safe_paths import project_name_from
from devteam.roles.base import Message, Role, RunContext
from devteam.roles.committed_docs import read_committed
from devteam.roles.messages import IdeaGiven, PRDWritten

PRD_JSON = "docs/prd.json"


class ProductManager(Role):
    name = "ProductManager"
    profile = "a product manager"
    goal = "Turn the user's idea into a clear, small product requirement document a team can build."
    watches = frozenset({"idea"})

    async def react(self, message: Message, run: RunContext) -> list[Message]:
        committed = read_committed(run.repo, PRD_JSON, PRD)
        if committed is not None and not run.incremental:
            run.progress.note(self.name, f"{WRITE_PRD} skipped: resuming from the committed {PRD_JSON}")
            return [Message("prd", PRDWritten(committed), self.name)]
        run.progress.start(self.name, WRITE_PRD)
        answer, conversation = await write_prd(
            self.llm, self.persona, idea=message.expect(IdeaGiven).text, repair=run.repair, existing=committed
        )
        prd = answer.value
        if conversation:
            run.conversations[PRD_JSON] = conversation  # the design continues it
        repo = run.project(prd.project_name)
        repo.write_text(PRD_JSON, prd.model_dump_json(indent=2))
        # Titles and the message use the sanitised name: the model's own spelling may hold anything.
        name = project_name_from(prd.project_name)
        repo.write_text("docs/prd.md", render_document("prd.md.j2", prd=prd, project_name=name))
        if prd.competitive_quadrant_chart.strip():
            repo.write_text("docs/diagrams/competitive_quadrant_chart.mmd", prd.competitive_quadrant_chart)
        repo.commit(f"Add PRD for {name}: {len(prd.requirement_pool)} requirements", author=self.name)
        run.progress.done(self.name, WRITE_PRD)
        return [Message("prd", PRDWritten(prd), self.name)]
