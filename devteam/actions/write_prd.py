"""WritePRD: idea → PRD, checked to still be about the idea."""

from __future__ import annotations

from devteam.actions.persona import Persona
from devteam.actions.send_back import ask_checked
from devteam.artifacts.checks import check_prd, settle_prd
from devteam.artifacts.documents import PRD
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import Answer
from devteam.structured.schema import answer_format

NAME = "WritePRD"
# The most a PRD answer needs: measured PRDs are 500-900 tokens (goals, stories, competitors, a quadrant chart,
# requirements). A model that loops is cut here, not at max_token (4,096 tokens: 20 minutes at 3 tokens/s).
ANSWER_TOKENS = 1536


async def write_prd(
    llm: LLM, persona: Persona, *, idea: str, repair: bool, existing: PRD | None = None
) -> tuple[Answer[PRD], list[ChatMessage]]:
    """The PRD, and the request with the answer as the model wrote it (empty when it took more than one call):
    the design continues that conversation, so the server's cache serves both."""
    prompt = render_prompt(
        "write_prd.j2",
        idea=idea,
        programming_language="Python",
        voice=persona.voice(),
        existing_prd=existing.model_dump_json(indent=1) if existing else "",
        **answer_format(PRD, output_mode=llm.output_mode(wants_json=True)),
    )
    messages = [persona.system_message(), ChatMessage("user", prompt)]
    # A PRD about another product (the model wrote a snake game for "2048") is sent back with the idea quoted.
    answer = await ask_checked(
        llm,
        messages,
        PRD,
        check=lambda prd: check_prd(prd, idea=idea),
        settle=lambda prd: settle_prd(prd, idea=idea),
        role=persona.role,
        action=NAME,
        repair=repair,
        answer_tokens=ANSWER_TOKENS,
    )
    conversation = [*messages, ChatMessage("assistant", answer.text)] if answer.text else []
    return answer, conversation
