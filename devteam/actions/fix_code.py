"""FixCode: one file corrected from the failure QA saw, with the other files the failure names as context."""

from __future__ import annotations

from devteam.actions.fill_function import FileBrief, fill_hollow_functions
from devteam.actions.persona import Persona, language_of
from devteam.actions.write_code import compile_error
from devteam.artifacts.documents import SystemDesign
from devteam.artifacts.file_plan import plan_key
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_code

NAME = "FixCode"
FAILURE_LIMIT = 6000  # characters of failing output quoted; the end of pytest's output says the most


async def fix_code(
    llm: LLM,
    persona: Persona,
    *,
    design: SystemDesign,
    path: str,
    code: str,
    failure: str,
    context: dict[str, str],
    repair: bool,
) -> str | None:
    """The corrected file, or None when the answer would not compile where the original did."""
    quoted = failure if len(failure) <= FAILURE_LIMIT else "...\n" + failure[-FAILURE_LIMIT:]
    prompt = render_prompt(
        "fix_code.j2",
        design=design,
        path=path,
        code=code,
        failure=quoted,
        context=context,
        language_of=language_of,
        voice=persona.voice(),
    )
    answer = await ask_code(
        llm,
        [persona.system_message(), ChatMessage("user", prompt)],
        role=persona.role,
        action=NAME,
        subject=path,
        language=language_of(path),
        repair=repair,
    )
    # A fix can leave (or make) a hollow function too: each is asked for on its own.
    purpose = next((item.purpose for item in design.file_list if plan_key(item.path) == plan_key(path)), "")
    brief = FileBrief(path, purpose, "", design, context)
    filled = await fill_hollow_functions(llm, persona, code=answer.value, brief=brief, repair=repair)
    if compile_error(path, filled.code) and not compile_error(path, code):
        return None
    return filled.code
