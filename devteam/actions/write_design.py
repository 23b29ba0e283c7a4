"""WriteDesign: PRD → system design with the file plan, checked (packages, unplanned files, entry point)."""

from __future__ import annotations

from devteam.actions.choose_framework import FrameworkChoice
from devteam.actions.persona import Persona
from devteam.actions.send_back import ask_checked
from devteam.artifacts.checks import check_design, settle_design
from devteam.artifacts.documents import PRD, SystemDesign
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import Answer
from devteam.structured.schema import answer_format

NAME = "WriteDesign"


async def write_design(
    llm: LLM,
    persona: Persona,
    *,
    idea: str,
    prd: PRD,
    repair: bool,
    existing: SystemDesign | None = None,
    framework: FrameworkChoice | None = None,
) -> Answer[SystemDesign]:
    prompt = render_prompt(
        "write_design.j2",
        idea=idea,
        existing_design=existing.model_dump_json(indent=1) if existing else "",
        framework=framework,
        prd_json=prd.model_dump_json(indent=1, exclude={"competitive_quadrant_chart", "competitive_analysis"}),
        **answer_format(SystemDesign, output_mode=llm.output_mode(wants_json=True)),
    )
    messages = [persona.system_message(), ChatMessage("user", prompt)]
    return await ask_checked(
        llm,
        messages,
        SystemDesign,
        check=lambda design: check_design(design, idea=idea),
        settle=lambda design: settle_design(design, idea=idea),
        role=persona.role,
        action=NAME,
        repair=repair,
    )
