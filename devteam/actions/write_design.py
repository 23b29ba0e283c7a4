"""WriteDesign: PRD → system design with the file plan, checked (plan size, packages, unplanned files, entry
point) and sent back once with the problems named.

The framework is chosen here, in the same call: the design's approach and `required_packages` are the choice,
and the checks judge it (standard library first). Two calls before the design — a proposal, then a choice among
it — cost a weak model minutes and chose Flask and pygame for a terminal snake game.
"""

from __future__ import annotations

from devteam.actions.file_threads import fits
from devteam.actions.persona import Persona
from devteam.actions.send_back import ask_checked
from devteam.artifacts.design_checks import DesignRules, check_design, settle_design
from devteam.artifacts.documents import PRD, SystemDesign
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import Answer
from devteam.structured.schema import answer_format

NAME = "WriteDesign"
# The most a design answer needs (approach, file plan with signatures, class diagram, call flow): 1,000-1,800
# tokens for an 8-file plan; a cut-off design is asked again with twice this and the grammar's bounds.
ANSWER_TOKENS = 2560


async def write_design(
    llm: LLM,
    persona: Persona,
    *,
    idea: str,
    prd: PRD,
    repair: bool,
    existing: SystemDesign | None = None,
    install_allowed: bool = False,
    prd_conversation: list[ChatMessage] | None = None,
) -> Answer[SystemDesign]:
    """The design for `prd`. A new plan holds at most the model's `max_files` (an existing one is extended as it
    is); a package this interpreter lacks goes back to the model unless the idea names it or `install_allowed`
    (`--qa-install`). `prd_conversation` (the request that wrote the PRD, with its answer as written): the
    design is asked for as the next turn, where it fits the window, so the server's cache serves the PRD."""
    max_files = llm.max_files if existing is None else None
    rules = DesignRules(idea=idea, max_files=max_files, install_allowed=install_allowed)

    def prompt(prd_above: bool) -> str:
        return render_prompt(
            "write_design.j2",
            prd_above=prd_above,
            idea=idea,
            existing_design=existing.model_dump_json(indent=1) if existing else "",
            max_files=max_files,
            voice=persona.voice(),
            prd_json=prd.model_dump_json(indent=1, exclude={"competitive_quadrant_chart", "competitive_analysis"}),
            **answer_format(SystemDesign, output_mode=llm.output_mode(wants_json=True)),
        )

    messages: list[ChatMessage] = []
    if prd_conversation and existing is None:
        messages = [*prd_conversation, ChatMessage("user", prompt(prd_above=True))]
        if not await fits(llm, messages, ANSWER_TOKENS):
            messages = []
    if not messages:
        messages = [persona.system_message(), ChatMessage("user", prompt(prd_above=False))]
    return await ask_checked(
        llm,
        messages,
        SystemDesign,
        check=lambda design: check_design(design, rules),
        settle=lambda design: settle_design(design, rules),
        role=persona.role,
        action=NAME,
        repair=repair,
        answer_tokens=ANSWER_TOKENS,
    )
