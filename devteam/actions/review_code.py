"""ReviewCode: a verdict, LGTM or needs changes, then the corrected file only when changes are needed.

Optional (`--code-review`): one call per file, two when the verdict asks for changes. The verdict is a
constrained choice (`choose_from_options`: an enum the server enforces where it can), so no answer lands in
between. A review may only ever improve a file: a fix that is neither LGTM nor a complete fenced file (prose,
advice, a cut-off block) is asked again and never replaces the code; the same code sent back is "unchanged".
"""

from __future__ import annotations

import logging
import re

from devteam.actions.code_context import CodeContext, fit_prompt
from devteam.actions.persona import Persona, language_of
from devteam.actions.write_code import WrittenFile, compile_error
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.core.errors import ContextWindowError
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.structured.ask import ask_parsed
from devteam.structured.choose import choose_from_options
from devteam.structured.extract import find_fences, strip_wrapping
from devteam.structured.parse import ParseFailure, extract_code

log = logging.getLogger("devteam.engineer")

NAME = "ReviewCode"
LGTM, NEEDS_CHANGES = "LGTM", "needs changes"
VERDICTS = (LGTM, NEEDS_CHANGES)
_LGTM = re.compile(r"\bLGTM\b", re.IGNORECASE)
_NOT_A_REVIEW = "answer with the single word LGTM, or with the complete corrected file in one fenced code block"


def parse_review(text: str, *, language: str | None, repair: bool) -> tuple[str | None, list[str]]:
    """None for LGTM, else the corrected file; `ParseFailure` for anything that is not clearly one of them."""
    visible = strip_wrapping(text)[0] if repair else text
    closed = [fence for fence in find_fences(visible) if fence.closed]
    if not closed:
        if "```" not in visible and _LGTM.search(visible):
            return None, []
        # Prose ("looks fine, but consider...") or a cut-off block: never a replacement for the file.
        raise ParseFailure("no_code", _NOT_A_REVIEW)
    try:
        extraction = extract_code(text, language=language, repair=repair)
    except ParseFailure:
        raise ParseFailure("no_code", _NOT_A_REVIEW) from None
    return extraction.code, extraction.repairs


async def review_code(
    llm: LLM,
    persona: Persona,
    *,
    idea: str = "",
    design: SystemDesign,
    planned: PlannedFile,
    written: WrittenFile,
    contexts: list[CodeContext],
    repair: bool,
) -> WrittenFile:
    """`contexts` as for WriteCode; the fix may be the whole file again, so that much room is kept for it."""

    def render(context: CodeContext) -> list[ChatMessage]:
        prompt = render_prompt(
            "review_code.j2",
            idea=idea,
            design=design,
            file=planned,
            code=written.code,
            context=context,
            for_review=True,
            shared_shown=True,
            plan_shown=context.overview,
            voice=persona.voice(),
            language_of=language_of,
            options=VERDICTS,
        )
        return [persona.system_message(), ChatMessage("user", prompt)]

    try:
        fitted = await fit_prompt(
            llm, contexts, render, expected_answer=written.code, describe=f"{NAME} {planned.path}"
        )
    except ContextWindowError as too_big:
        # The review is optional; a file that cannot be reviewed inside the window is kept as written.
        log.warning("review skipped: %s", too_big)
        written.review = "skipped (window)"
        return written
    messages = fitted.messages
    verdict = await choose_from_options(
        llm, messages, VERDICTS, role=persona.role, action=NAME, subject=planned.path, repair=repair
    )
    if verdict.value == LGTM:
        written.review = LGTM
        return written
    # The same conversation goes on: the model sees its own verdict and is asked for the file.
    fix = [
        ChatMessage("assistant", f'{{"choice": "{NEEDS_CHANGES}"}}'),
        ChatMessage("user", render_prompt("review_fix.j2", path=planned.path)),
    ]
    request = ChatRequest(messages=[*messages, *fix], role=persona.role, action=NAME, subject=planned.path)
    language = language_of(planned.path)

    def parse(text: str) -> tuple[str | None, list[str]]:
        return parse_review(text, language=language, repair=repair)

    answer = await ask_parsed(llm, request, parse)
    if answer.value is None:
        written.review = "LGTM"
        return written
    if answer.value.strip() == written.code.strip():
        written.review = "unchanged"
        return written
    if compile_error(planned.path, answer.value) and not compile_error(planned.path, written.code):
        written.review = "LGTM"  # a review that breaks a compiling file is not an improvement
        return written
    written.code = answer.value
    written.repairs.extend(answer.repairs)
    written.review = "rewritten"
    written.compile_error = compile_error(planned.path, written.code)
    return written
