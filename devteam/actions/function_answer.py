"""One short answer asked for on its own (a function's fill or fix, a test's fix or input file): its code.

The calls that ask for one function share their shape: the persona's system message and the prompt, one
re-ask at most, a small token budget (a function is short, and a small budget ends a looping answer early).
"""

from __future__ import annotations

import logging

from devteam.actions.persona import Persona
from devteam.core.errors import StructuredOutputError
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_code

log = logging.getLogger("devteam.engineer")


async def function_answer(
    llm: LLM,
    persona: Persona,
    prompt: str,
    *,
    action: str,
    subject: str,
    repair: bool,
    max_tokens: int,
    temperature: float | None = None,
    language: str = "python",
) -> str | None:
    """The code of the answer (its fenced block, in `language` if several), or None (logged) when the model
    gave no usable one."""
    try:
        answer = await ask_code(
            llm,
            [persona.system_message(), ChatMessage("user", prompt)],
            role=persona.role,
            action=action,
            subject=subject,
            language=language,
            repair=repair,
            max_reasks=1,
            max_tokens=min(max_tokens, llm.max_tokens),
            temperature=temperature,
        )
    except StructuredOutputError as error:
        log.warning("%s %s: no usable answer (%s)", action, subject, error)
        return None
    return answer.value
