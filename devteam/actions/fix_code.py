"""FixCode: one file corrected from the failure QA saw, with the other files the failure names as context.

When this run wrote the file, the request is a turn after the conversation that wrote it (`file_threads`): the
server's cache serves the writing prompt and the file, and only the failure is new to it.
"""

from __future__ import annotations

from devteam.actions.file_threads import continued, fits
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
    conversation: list[ChatMessage] | None = None,
) -> str | None:
    """The corrected file, or None when the answer would not compile where the original did. `conversation`:
    the request that wrote the file and its answer, when this run wrote it."""
    quoted = failure if len(failure) <= FAILURE_LIMIT else "...\n" + failure[-FAILURE_LIMIT:]
    messages: list[ChatMessage] = []
    if conversation:
        followup = render_prompt(
            "fix_code_followup.j2",
            path=path,
            failure=quoted,
            context=context,
            language_of=language_of,
            voice=persona.voice(),
        )
        messages = [*continued(conversation, path, code), ChatMessage("user", followup)]
        if not await fits(llm, messages, len(code) // 3):
            messages = []
    if not messages:
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
        messages = [persona.system_message(), ChatMessage("user", prompt)]
    answer = await ask_code(
        llm,
        messages,
        role=persona.role,
        action=NAME,
        subject=path,
        language=language_of(path),
        repair=repair,
    )
    # A fix can leave (or make) a hollow function too: each is asked for on its own.
    purpose = next((item.purpose for item in design.file_list if plan_key(item.path) == plan_key(path)), "")
    brief = FileBrief(path, purpose, "", design, context)
    filled = await fill_hollow_functions(
        llm, persona, code=answer.value, brief=brief, repair=repair, conversation=messages
    )
    if compile_error(path, filled.code) and not compile_error(path, code):
        return None
    return filled.code
