"""ReviewCode: LGTM, or a corrected file. Optional (`--code-review`), one extra call per file."""

from __future__ import annotations

import re

from devteam.actions.persona import Persona, language_of
from devteam.actions.write_code import WrittenFile, compile_error
from devteam.artifacts import PlannedFile, SystemDesign
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.prompting import render_prompt
from devteam.structured.ask import ask_parsed
from devteam.structured.parse import ParseFailure, extract_code

NAME = "ReviewCode"
_LGTM = re.compile(r"\bLGTM\b", re.IGNORECASE)


async def review_code(
    llm: LLM,
    persona: Persona,
    *,
    design: SystemDesign,
    planned: PlannedFile,
    written: WrittenFile,
    dependencies: dict[str, str],
    repair: bool,
) -> WrittenFile:
    prompt = render_prompt(
        "review_code.j2", design=design, file=planned, code=written.code, dependencies=dependencies,
        language_of=language_of,
    )
    request = ChatRequest(
        messages=[persona.system_message(), ChatMessage("user", prompt)],
        role=persona.role, action=NAME, subject=planned.path,
    )
    language = language_of(planned.path)

    def parse(text: str) -> tuple[str | None, list[str]]:
        if "```" not in text and _LGTM.search(text):
            return None, []
        try:
            extraction = extract_code(text, language=language, repair=repair)
        except ParseFailure:
            raise ParseFailure("no_json", "answer LGTM or give the corrected file in one fenced block") from None
        return extraction.code, extraction.repairs

    answer = await ask_parsed(llm, request, parse)
    if answer.value is None:
        written.review = "LGTM"
        return written
    if compile_error(planned.path, answer.value) and not compile_error(planned.path, written.code):
        written.review = "LGTM"  # a review that breaks a compiling file is not an improvement
        return written
    written.code = answer.value
    written.repairs.extend(answer.repairs)
    written.review = "rewritten"
    written.compile_error = compile_error(planned.path, written.code)
    return written
