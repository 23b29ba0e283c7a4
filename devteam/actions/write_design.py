"""WriteDesign: PRD → system design with the file plan."""

from __future__ import annotations

from devteam.actions.persona import Persona
from devteam.artifacts import PRD, SystemDesign
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.prompting import render_prompt
from devteam.structured.ask import Answer, ask_structured
from devteam.structured.schema import schema_for_prompt
from devteam.structured.skeleton import skeleton

NAME = "WriteDesign"


async def write_design(
    llm: LLM, persona: Persona, *, prd: PRD, repair: bool, existing: SystemDesign | None = None
) -> Answer[SystemDesign]:
    prompt = render_prompt(
        "write_design.j2",
        existing_design=existing.model_dump_json(indent=1) if existing else "",
        prd_json=prd.model_dump_json(indent=1, exclude={"competitive_quadrant_chart", "competitive_analysis"}),
        schema=schema_for_prompt(SystemDesign),
        skeleton=skeleton(SystemDesign),
    )
    messages = [persona.system_message(), ChatMessage("user", prompt)]
    return await ask_structured(llm, messages, SystemDesign, role=persona.role, action=NAME, repair=repair)
