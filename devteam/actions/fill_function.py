"""FillFunction: the body of one hollow function, asked for on its own and spliced into the file.

A small model that leaves eight methods as a comment each, when asked to fix "expected an indented block ...
line 8", fills the one function named and leaves seven. Asking for one function at a time, with a prompt made
for it (its signature, its class's attributes, the design lines that name it, what it may call), is a short
prompt and a short answer a small model can carry; each answer is spliced in and kept only if it parses.
"""

from __future__ import annotations

import ast
import logging
import re
import textwrap
from dataclasses import dataclass, field

from devteam.actions.persona import Persona, language_of
from devteam.artifacts.code_interface import python_interface
from devteam.artifacts.documents import SystemDesign
from devteam.artifacts.function_source import located_function
from devteam.artifacts.hollow_code import (
    HollowFunction,
    class_attributes,
    hollow_functions,
    outline,
    splice_body,
    syntax_errors,
)
from devteam.core.errors import StructuredOutputError
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_code

log = logging.getLogger("devteam.repair")

NAME = "FillFunction"
# The same prompt for a function that has a body, which it does not show: a second implementation.
ANEW = "WriteAnew"
# The same again for a function that uses a module nothing provides, told not to import it.
WITHOUT = "WriteWithout"
MARKER = "repair_function_followup"
# At most this many follow-ups per file and pass: a file of thirty stubs is better sent back whole.
MAX_FILLS_PER_FILE = 10
# A function body is short; a small budget also cuts a looping answer early.
MAX_ANSWER_TOKENS = 768
MAX_DESIGN_LINES = 12


@dataclass(frozen=True)
class FileBrief:
    """What a FillFunction prompt knows of the file beyond its own text."""

    path: str
    purpose: str
    idea: str
    design: SystemDesign
    dependencies: dict[str, str]  # path -> the interface (or code) of a file it may import


@dataclass
class Filled:
    code: str
    filled: list[str] = field(default_factory=list)  # qualified names, in the order filled
    left: list[str] = field(default_factory=list)  # still hollow after their one follow-up
    repairs: list[str] = field(default_factory=list)


async def fill_hollow_functions(
    llm: LLM,
    persona: Persona,
    *,
    code: str,
    brief: FileBrief,
    repair: bool,
    limit: int = MAX_FILLS_PER_FILE,
    conversation: list[ChatMessage] | None = None,
) -> Filled:
    """Ask for each hollow function of `code` in turn (at most `limit`), one follow-up each.

    With `conversation` (the request that wrote `code`), each follow-up continues it: the server's prefix
    cache then serves the whole writing prompt and its answer, and only the follow-up itself is read."""
    result = Filled(code)
    opening = [*conversation, ChatMessage("assistant", f"```python\n{code.rstrip()}\n```")] if conversation else None
    if not brief.path.endswith(".py"):
        return result
    tried: set[str] = set()
    while len(tried) < limit:
        pending = [hollow for hollow in hollow_functions(result.code) if hollow.qualname not in tried]
        if not pending:
            break
        hollow = pending[0]
        tried.add(hollow.qualname)
        spliced = await _fill_one(llm, persona, result.code, hollow, brief, repair, result.repairs, opening)
        if spliced is None:
            result.left.append(hollow.qualname)
            continue
        result.code = spliced
        result.filled.append(hollow.qualname)
        log.info("%s: %s %s filled (%d lines)", MARKER, brief.path, hollow.qualname, spliced.count("\n"))
        llm.ledger.add_repairs([MARKER])
        result.repairs.append(MARKER)
    result.left.extend(h.qualname for h in hollow_functions(result.code) if h.qualname not in tried)
    if result.left:
        log.warning("%s: still hollow after their follow-up: %s", brief.path, ", ".join(result.left))
    return result


async def written_anew(
    llm: LLM,
    persona: Persona,
    *,
    code: str,
    name: str,
    class_name: str | None,
    brief: FileBrief,
    repair: bool,
    temperature: float | None = None,
    without: tuple[str, ...] = (),
) -> str | None:
    """`code` with the function `name` (a method of `class_name`) written again by the FillFunction prompt, which
    shows its signature, its class and the design but not its body: a second implementation, evidence of what a
    call must give where the code and a test disagree (`roles.engineer_value_votes`). With `without`, the
    packages it used that are not installed (their imports dropped: `actions.fit_imports`), it is told to do
    their work with the standard library; whether the new body still uses them is the caller's check. None: no
    such function, no usable answer, or one that does not parse in place."""
    place = located_function(code, name, class_name)
    if place is None or not brief.path.endswith(".py"):
        return None
    action = WITHOUT if without else ANEW
    return await _fill_one(
        llm, persona, code, place, brief, repair, [], action=action, temperature=temperature, unavailable=without
    )


async def _fill_one(
    llm: LLM,
    persona: Persona,
    code: str,
    hollow: HollowFunction,
    brief: FileBrief,
    repair: bool,
    repairs: list[str],
    opening: list[ChatMessage] | None = None,
    *,
    action: str = NAME,
    temperature: float | None = None,
    unavailable: tuple[str, ...] = (),
) -> str | None:
    """The file with this one function filled, or None (no usable answer, or one that breaks the file)."""
    prompt = function_prompt(code, hollow, brief, unavailable=unavailable)
    try:
        answer = await ask_code(
            llm,
            [*(opening or [persona.system_message()]), ChatMessage("user", prompt)],
            role=persona.role,
            action=action,
            subject=f"{brief.path}:{hollow.qualname}",
            language="python",
            repair=repair,
            max_reasks=1,
            max_tokens=min(MAX_ANSWER_TOKENS, llm.max_tokens),
            temperature=temperature,
        )
    except StructuredOutputError as error:
        log.warning("%s %s %s: no usable answer (%s)", action, brief.path, hollow.qualname, error)
        return None
    repairs.extend(answer.repairs)
    spliced = splice_body(code, hollow, answer.value)
    if spliced is None:
        log.warning("%s %s %s: the answer has no body; left as it was", action, brief.path, hollow.qualname)
        return None
    if not _parses(spliced, hollow) or len(syntax_errors(brief.path, spliced)) > len(syntax_errors(brief.path, code)):
        log.warning("%s %s %s: the answer does not parse in place; left as it was", action, brief.path, hollow.qualname)
        return None
    return spliced


def _parses(spliced: str, hollow: HollowFunction) -> bool:
    """Whether the function as spliced (from its `def` to the end of its new body) parses on its own."""
    lines = spliced.splitlines()
    width = len(hollow.indent)
    end = hollow.header_start + 1
    while end < len(lines) and (
        not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > width or end <= hollow.body_start
    ):
        end += 1
    try:
        ast.parse(textwrap.dedent("\n".join(lines[hollow.header_start : end])))
    except (SyntaxError, ValueError):
        return False
    return True


def function_prompt(code: str, hollow: HollowFunction, brief: FileBrief, *, unavailable: tuple[str, ...] = ()) -> str:
    return render_prompt(
        "fill_function.j2",
        hollow=hollow,
        path=brief.path,
        purpose=brief.purpose,
        idea=brief.idea,
        design_lines=design_lines(brief.design, hollow),
        attributes=class_attributes(code, hollow.class_name) if hollow.class_name else [],
        outline=outline(code),
        dependencies={path: _interface(path, text) for path, text in brief.dependencies.items()},
        language_of=language_of,
        unavailable=unavailable,
    )


def design_lines(design: SystemDesign, hollow: HollowFunction) -> list[str]:
    """The class-diagram and call-flow lines that name the function (the class, for `__init__`)."""
    name = hollow.class_name if hollow.name == "__init__" and hollow.class_name else hollow.name
    word = re.compile(rf"(?<![\w]){re.escape(name)}(?![\w])")
    lines = [
        line.rstrip()
        for text in (design.data_structures_and_interfaces, design.program_call_flow)
        for line in text.splitlines()
        if word.search(line)
    ]
    return list(dict.fromkeys(lines))[:MAX_DESIGN_LINES]


def _interface(path: str, text: str) -> str:
    if path.endswith(".py"):
        return python_interface(text) or text
    return text
