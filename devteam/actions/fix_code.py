"""FixCode: one file corrected from the failure QA saw, with the other files the failure names as context.

When this run wrote the file, the request is a turn after the conversation that wrote it, or after the one that
wrote its tests (`file_threads.thread_for`): the server's cache serves the writing prompts and the files, and
only the failure is new to it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from devteam.actions.file_threads import fenced, fits
from devteam.actions.fill_function import FileBrief, fill_hollow_functions
from devteam.actions.persona import Persona, language_of
from devteam.actions.write_code import compile_error, repaired_code, with_stdlib_imports
from devteam.artifacts.checks import code_problem
from devteam.artifacts.documents import SystemDesign
from devteam.artifacts.file_plan import plan_key
from devteam.artifacts.program_layout import is_test_path
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_code

log = logging.getLogger("devteam.engineer")

NAME = "FixCode"
FAILURE_LIMIT = 6000  # characters of failing output quoted; the end of pytest's output says the most


@dataclass(frozen=True)
class FixedFile:
    code: str
    # The request and its answer: the next fix of the file continues it.
    conversation: list[ChatMessage]


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
    thread: tuple[list[ChatMessage], set[str]] | None = None,
    kept_module: str | None = None,
    temperature: float | None = None,
) -> FixedFile | None:
    """The corrected file, or None when the answer would not compile where the original did. `thread`: a
    conversation of this run that shows the file as it reads now, and the files it shows
    (`file_threads.thread_for`); those are not quoted again. `kept_module`: for a test file, the module whose
    fix for this failure changed nothing — its author stands by it, so the failing tests are what is asked for.
    `temperature`: None for the configured one; a candidate after the first is asked warmer."""
    quoted = failure if len(failure) <= FAILURE_LIMIT else "...\n" + failure[-FAILURE_LIMIT:]
    messages: list[ChatMessage] = []
    # A warmer candidate is asked with a prompt of its own: continuing the conversation that wrote the file, the
    # 0.5B gave its todo list back unchanged at temperature 0.6 and 0.9 too (its own answer above).
    if thread and temperature is None:
        above, shown = thread
        followup = render_prompt(
            "fix_code_followup.j2",
            path=path,
            failure=quoted,
            context={other: text for other, text in context.items() if other not in shown},
            language_of=language_of,
            voice=persona.voice(),
            kept_module=kept_module,
        )
        messages = [*above, ChatMessage("user", followup)]
        if not await fits(llm, messages, len(code) // 3):
            messages = []
    standalone = [
        persona.system_message(),
        ChatMessage(
            "user",
            render_prompt(
                "fix_code.j2",
                design=design,
                path=path,
                code=code,
                failure=quoted,
                context=context,
                language_of=language_of,
                voice=persona.voice(),
                kept_module=kept_module,
            ),
        ),
    ]
    messages = messages or standalone
    ask = partial(
        ask_code,
        llm,
        role=persona.role,
        action=NAME,
        subject=path,
        language=language_of(path),
        repair=repair,
        temperature=temperature,
    )
    answer = await ask(messages)
    if temperature is None and messages is not standalone and answer.value.strip() == code.strip():
        # Continuing the conversation that wrote the file, the 0.5B wrote the same file again (temperature 0,
        # its own answer above): asked once more with a prompt of its own, the failure in front of the file.
        # A warmer candidate is asked on its own from the start (above).
        log.warning("%s %s: the answer repeats the file; asking again with a prompt of its own", NAME, path)
        llm.ledger.count_reask()
        messages = standalone
        answer = await ask(messages)
    # A fix can leave (or make) a hollow function too: each is asked for on its own.
    purpose = next((item.purpose for item in design.file_list if plan_key(item.path) == plan_key(path)), "")
    brief = FileBrief(path, purpose, "", design, context)
    filled = await fill_hollow_functions(
        llm, persona, code=answer.value, brief=brief, repair=repair, conversation=messages
    )
    if compile_error(path, filled.code) and not compile_error(path, code):
        return None
    problem = code_problem(path, filled.code)
    if problem is not None and code_problem(path, code) is None:
        log.warning("%s %s: the answer is not a fix (%s); the file stays as it was", NAME, path, problem)
        return None
    test_file = is_test_path(path)
    fixed = (
        with_stdlib_imports(llm, path, filled.code, test_file=True)
        if test_file
        else repaired_code(llm, path, filled.code)
    )
    return FixedFile(fixed, [*messages, ChatMessage("assistant", fenced(path, fixed))])
