"""FixFunction: the one function a failure was raised in (or a failing assert called), corrected on its own.

Asked for a whole file, the 0.5B gave it back unchanged in 31 fixes over three suites, even warmer; the
failure's deepest frame in the project names the function to look at (`qa.test_failures.frames`). The prompt
holds that function, its class's attributes, the file's outline and the failing check — a few hundred tokens —
and the answer replaces the function's body in place; kept only if the file still parses. Whether it is better
is the judge's to say (`roles.engineer_fixes`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from devteam.actions.function_answer import function_answer
from devteam.actions.persona import Persona
from devteam.actions.write_code import repaired_code
from devteam.artifacts.function_source import answer_functions, function_text, gives_nothing, located_function
from devteam.artifacts.hollow_code import class_attributes, outline, splice_body
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.qa.test_failures import asserted_truth, compared, silent_call

log = logging.getLogger("devteam.engineer")

NAME = "FixFunction"
MAX_ANSWER_TOKENS = 768


@dataclass(frozen=True)
class FailedInside:
    """A check that failed inside one function of a code file."""

    path: str
    name: str
    class_name: str | None
    check: str  # "The test `test_add`", "The program's start (`python main.py`)"
    relation: str  # "fails inside" (raised there), "fails on what it expects of" (a test's assert calls it)
    report: str  # what pytest or the program printed
    test_function: str | None = None  # the failing test's code, when a test failed

    @property
    def qualname(self) -> str:
        return f"{self.class_name}.{self.name}" if self.class_name else self.name


async def fix_function(
    llm: LLM,
    persona: Persona,
    *,
    code: str,
    failed: FailedInside,
    repair: bool,
    temperature: float | None = None,
) -> str | None:
    """`code` (the file `failed.path`) with the function corrected, or None: not found, no usable answer, or
    an answer that does not parse in place."""
    place = located_function(code, failed.name, failed.class_name)
    function = function_text(code, failed.name, failed.class_name)
    if place is None or function is None:
        return None
    # What a failed `==` got and expected, said in words: the 0.5B passed over pytest's `assert None == True`.
    got = compared(failed.report) if failed.test_function else None
    silent = silent_call(failed.report) == failed.name and gives_nothing(code, failed.name, failed.class_name)
    prompt = render_prompt(
        "fix_function.j2",
        compared=got,
        gives_nothing=silent,
        # `assert game.check_winner("X")`: pytest shows `assert False`.
        truth=asserted_truth(failed.report) if failed.test_function and got is None else None,
        function_name=failed.name,
        check=failed.check,
        relation=failed.relation,
        qualname=failed.qualname,
        path=failed.path,
        test_function=failed.test_function,
        report=failed.report,
        class_name=failed.class_name,
        attributes=class_attributes(code, failed.class_name) if failed.class_name else [],
        outline=outline(code),
        function=function,
    )
    subject = f"{failed.path}:{failed.qualname}"
    answer = await function_answer(
        llm,
        persona,
        prompt,
        action=NAME,
        subject=subject,
        repair=repair,
        max_tokens=MAX_ANSWER_TOKENS,
        temperature=temperature,
    )
    if answer is None:
        return None
    spliced = splice_body(code, place, answer)
    if spliced is None or function_text(spliced, failed.name, failed.class_name) is None:
        log.warning("%s %s: the answer has no body that parses in place", NAME, subject)
        return None
    spliced, others = with_other_functions(spliced, answer, failed)
    if others:
        log.info("%s %s: the answer rewrote %s too; spliced in place", NAME, subject, ", ".join(others))
    return repaired_code(llm, failed.path, spliced)


def with_other_functions(code: str, answer: str, failed: FailedInside) -> tuple[str, list[str]]:
    """`code` with the other functions of the file that the answer rewrote, each spliced in place of its own
    (never one the file lacks), and their qualified names. Asked for `Snake.draw`, the 0.5B answered with its
    whole class — and the fix was in `__init__` (a body of numbers where `draw` reads pairs)."""
    spliced, others = code, []
    for (name, owner), text in answer_functions(answer).items():
        if name == failed.name and owner in (failed.class_name, None):
            continue  # the function asked for, spliced already
        before = function_text(spliced, name, owner)
        place = located_function(spliced, name, owner)
        if before is None or place is None or before.strip() == text.strip():
            continue
        candidate = splice_body(spliced, place, text)
        if candidate is not None and function_text(candidate, name, owner) is not None:
            spliced = candidate
            others.append(f"{owner}.{name}" if owner else name)
    return spliced, others
