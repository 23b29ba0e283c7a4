"""WritePRD: idea → PRD."""

from __future__ import annotations

from devteam.actions.persona import Persona
from devteam.artifacts import PRD
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.prompting import render_prompt
from devteam.structured.ask import Answer, ask_structured
from devteam.structured.schema import schema_for_prompt
from devteam.structured.skeleton import skeleton

NAME = "WritePRD"


async def write_prd(
    llm: LLM, persona: Persona, *, idea: str, repair: bool, existing: PRD | None = None
) -> Answer[PRD]:
    prompt = render_prompt(
        "write_prd.j2", idea=idea, programming_language="Python",
        existing_prd=existing.model_dump_json(indent=1) if existing else "",
        schema=schema_for_prompt(PRD), skeleton=skeleton(PRD),
    )
    messages = [persona.system_message(), ChatMessage("user", prompt)]
    return await ask_structured(llm, messages, PRD, role=persona.role, action=NAME, repair=repair)
