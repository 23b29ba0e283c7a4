"""ReviewCode: LGTM, or a corrected file. Optional (`--code-review`), one extra call per file.

A review may only ever improve a file: an answer that is neither LGTM nor a complete fenced file (prose,
advice, a cut-off block) is asked again and never replaces the code; the same code sent back is "unchanged".
"""

from __future__ import annotations

import re

from devteam.actions.persona import Persona, language_of
from devteam.actions.write_code import WrittenFile, compile_error
from devteam.artifacts import PlannedFile, SystemDesign
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.prompting import render_prompt
from devteam.structured.ask import ask_parsed
from devteam.structured.extract import find_fences, strip_wrapping
from devteam.structured.parse import ParseFailure, extract_code

NAME = "ReviewCode"
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
    dependencies: dict[str, str],
    repair: bool,
) -> WrittenFile:
    prompt = render_prompt(
        "review_code.j2", idea=idea, design=design, file=planned, code=written.code, dependencies=dependencies,
        language_of=language_of,
    )
    request = ChatRequest(
        messages=[persona.system_message(), ChatMessage("user", prompt)],
        role=persona.role, action=NAME, subject=planned.path,
    )
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
