"""WriteCode: one planned file, written from its spec, its part of the design and the files it depends on.

Unlike MetaGPT, the prompt does not grow with every file written so far, nor repeat the whole design: it
carries what this file needs (see `code_context`), which is what lets independent files be written at the
same time and keeps each prompt inside a small model's window.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from devteam.actions.code_context import CodeContext, fit_prompt
from devteam.actions.fill_function import FileBrief, fill_hollow_functions
from devteam.actions.persona import Persona, language_of
from devteam.artifacts.bare_method_calls import with_method_receivers
from devteam.artifacts.checks import code_problem
from devteam.artifacts.documents import PRD, PlannedFile, SystemDesign
from devteam.artifacts.hollow_code import syntax_errors
from devteam.artifacts.missing_imports import with_module_imports
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_code

log = logging.getLogger("devteam.repair")

NAME = "WriteCode"
STDLIB_IMPORT = "repair_stdlib_import"
METHOD_RECEIVER = "repair_method_receiver"


@dataclass
class WrittenFile:
    path: str
    code: str
    repairs: list[str] = field(default_factory=list)
    compile_error: str | None = None
    review: str = "skipped"  # "skipped" | "LGTM" | "rewritten"
    filled: list[str] = field(default_factory=list)  # hollow functions filled by a follow-up each
    # The request that wrote the code and its answer: a follow-up on this file continues it, so a server's
    # prefix cache serves the whole writing prompt (empty for a file this run did not write).
    conversation: list[ChatMessage] = field(default_factory=list)


# An idea about a program that reads a file ("reads a CSV of daily temperatures", "a word frequency tool for a
# text file"): the 0.5B hard-coded `example.txt` and `daily_temperatures.csv`, so the program died at start with
# FileNotFoundError wherever QA ran it.
_INPUT_FILE = re.compile(r"\b(?:files?|csv|txt|text|reads?|log)\b", re.IGNORECASE)


def code_prompt(
    prd: PRD, design: SystemDesign, planned: PlannedFile, context: CodeContext, *, idea: str = "", voice: str = ""
) -> str:
    """The run's shared start (idea, design, plan, product: the same for every file), then this file's part."""
    idea = idea or prd.original_requirements
    return render_prompt(
        "write_code.j2",
        reads_input_file=bool(_INPUT_FILE.search(idea)),
        idea=idea,
        prd=prd if context.overview else None,
        design=design,
        file=planned,
        for_review=False,
        context=context,
        shared_shown=True,
        plan_shown=context.overview,
        voice=voice,
        language_of=language_of,
    )


def with_stdlib_imports(llm: LLM, path: str, code: str, *, test_file: bool = False) -> str:
    """`code` with an import of each standard-library module it uses but never imports (see
    `artifacts/missing_imports`), logged as `repair_stdlib_import`."""
    if not path.endswith(".py"):
        return code
    completed, added = with_module_imports(code, test_file=test_file)
    if added:
        log.info("%s: %s uses %s without importing; imported", STDLIB_IMPORT, path, ", ".join(added))
        llm.ledger.add_repairs([STDLIB_IMPORT])
    return completed


def repaired_code(llm: LLM, path: str, code: str) -> str:
    """Written or fixed code (not tests) with the repairs that need no model call: the standard-library imports
    it lacks, and its own methods called as bare functions made calls on the object they were given
    (`artifacts/bare_method_calls`), logged as `repair_method_receiver`."""
    code = with_stdlib_imports(llm, path, code)
    if not path.endswith(".py"):
        return code
    called, rewritten = with_method_receivers(code)
    if rewritten:
        log.info(
            "%s: %s calls its own methods as functions (%s); called on the object",
            METHOD_RECEIVER,
            path,
            "; ".join(rewritten),
        )
        llm.ledger.add_repairs([METHOD_RECEIVER])
    return called


def compile_error(path: str, code: str) -> str | None:
    """The syntax error of a Python file, as one line for the model; None when it compiles or isn't Python."""
    if not path.endswith(".py"):
        return None
    try:
        compile(code, path, "exec", dont_inherit=True)
    except SyntaxError as error:
        return f"{error.msg} (line {error.lineno}): {(error.text or '').strip()}"
    except ValueError as error:  # e.g. NUL bytes in the source
        return str(error)
    return None


async def write_code(
    llm: LLM,
    persona: Persona,
    *,
    prd: PRD,
    design: SystemDesign,
    planned: PlannedFile,
    contexts: list[CodeContext],
    repair: bool,
    idea: str = "",
) -> WrittenFile:
    """`contexts` are the candidates from `code_context.code_contexts`, richest first; the first that fits is sent."""
    fitted = await fit_prompt(
        llm,
        contexts,
        lambda context: [
            persona.system_message(),
            ChatMessage("user", code_prompt(prd, design, planned, context, idea=idea, voice=persona.voice())),
        ],
        describe=f"{NAME} {planned.path}",
    )
    messages = fitted.messages
    language = language_of(planned.path)
    answer = await ask_code(
        llm,
        messages,
        role=persona.role,
        action=NAME,
        subject=planned.path,
        language=language,
        repair=repair,
        max_tokens=fitted.max_tokens,
    )
    written = WrittenFile(path=planned.path, code=answer.value, repairs=list(answer.repairs))
    written.conversation = [*messages, ChatMessage("assistant", f"```{language}\n{answer.value.rstrip()}\n```")]
    problem = code_problem(planned.path, written.code)
    if problem is not None:
        written = await _send_back(llm, persona, messages, written, planned, problem, language, repair)
    brief = FileBrief(
        planned.path, planned.purpose, idea or prd.original_requirements, design, dict(fitted.context.dependencies)
    )
    await _fill_hollows(llm, persona, written, brief, repair, conversation=messages)
    errors = syntax_errors(planned.path, written.code)
    if not errors:
        written.code = repaired_code(llm, planned.path, written.code)
        return written
    # One more chance with every error quoted (not just the first): cheap, and it fixes most slips.
    log.info("repair_syntax: %s does not compile (%s); asking for a fix", planned.path, "; ".join(errors))
    llm.ledger.add_repairs(["repair_syntax"])
    written.repairs.append("repair_syntax")
    error = errors[0] if len(errors) == 1 else "\n".join(f"- {line}" for line in errors)
    fix_messages = [
        *messages,
        ChatMessage("assistant", f"```{language}\n{written.code}\n```"),
        ChatMessage("user", render_prompt("fix_syntax.j2", path=planned.path, error=error)),
    ]
    fixed = await ask_code(
        llm,
        fix_messages,
        role=persona.role,
        action=NAME,
        subject=planned.path,
        language=language,
        repair=repair,
        max_tokens=fitted.max_tokens,
    )
    written.code = fixed.value
    written.repairs.extend(fixed.repairs)
    written.conversation = [*fix_messages, ChatMessage("assistant", f"```{language}\n{fixed.value.rstrip()}\n```")]
    await _fill_hollows(llm, persona, written, brief, repair, conversation=fix_messages)
    written.code = repaired_code(llm, planned.path, written.code)
    written.compile_error = compile_error(planned.path, written.code)
    if written.compile_error:
        log.warning(
            "%s still does not compile after one fix (%s); kept as written", planned.path, written.compile_error
        )
    return written


async def _fill_hollows(
    llm: LLM,
    persona: Persona,
    written: WrittenFile,
    brief: FileBrief,
    repair: bool,
    *,
    conversation: list[ChatMessage] | None = None,
) -> None:
    """Each hollow function of the file asked for on its own (FillFunction), in place, continuing the
    conversation that wrote the file (so the server's cache serves it)."""
    result = await fill_hollow_functions(
        llm, persona, code=written.code, brief=brief, repair=repair, conversation=conversation
    )
    written.code = result.code
    written.filled.extend(result.filled)
    written.repairs.extend(result.repairs)


async def _send_back(
    llm: LLM,
    persona: Persona,
    messages: list[ChatMessage],
    written: WrittenFile,
    planned: PlannedFile,
    problem: str,
    language: str,
    repair: bool,
) -> WrittenFile:
    """An empty, stub-only or prose file goes back to the model once, with what is wrong named."""
    log.warning("sent_back: %s %s: %s", NAME, planned.path, problem)
    llm.ledger.count_reask()
    again = [
        *messages,
        ChatMessage("assistant", f"```{language}\n{written.code}```"),
        ChatMessage(
            "user", render_prompt("code_sent_back.j2", path=planned.path, problem=problem, purpose=planned.purpose)
        ),
    ]
    answer = await ask_code(
        llm, again, role=persona.role, action=NAME, subject=planned.path, language=language, repair=repair
    )
    still = code_problem(planned.path, answer.value)
    if still is not None:
        log.warning("%s: %s after it was sent back; kept as written", planned.path, still)
    return WrittenFile(
        path=planned.path,
        code=answer.value,
        repairs=[*written.repairs, *answer.repairs],
        conversation=[*again, ChatMessage("assistant", f"```{language}\n{answer.value.rstrip()}\n```")],
    )
