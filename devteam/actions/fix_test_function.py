"""FixTest: one failing test function corrected on its own, from pytest's report of it and the code it calls.

Asked only after the module's own fix for the failure changed nothing (its author stands by it): the 0.5B's
tests asserted values the requirements never promised (`meters_to_kilometers(10) == 1.0`, a `"Completed"`
returned by a method that returns nothing), and asked for the whole test file it gave it back with the asserts
changed in form only. One test, its report and the definitions it calls make a prompt of a few hundred tokens
and an answer of a few lines; the answer is spliced in place of the old body and kept only if the test still
checks the module (`function_source.checks_something_of`). Whether it is better is the judge's to say.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from devteam.actions.function_answer import function_answer
from devteam.actions.persona import Persona
from devteam.artifacts.function_source import (
    checks_something_of,
    classes_with_method,
    function_named,
    function_text,
    gives_nothing,
    header_with_parameter,
    located_function,
    module_names,
    stands_in,
    used_definitions,
    with_parameter,
)
from devteam.artifacts.hollow_code import splice_body
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.qa.test_failures import FailingTest, compared, missing_attribute, missing_file, silent_call

log = logging.getLogger("devteam.engineer")

NAME = "FixTest"
# A test function is short; a small budget also ends a looping answer early.
MAX_ANSWER_TOKENS = 512
TMP_PATH = "tmp_path"


@dataclass(frozen=True)
class TestSubject:
    """The module a test file tests, as it stays while its tests are corrected."""

    path: str
    import_name: str  # `main` for main.py: a test may use the module by this name
    code: str


async def fix_test_function(
    llm: LLM,
    persona: Persona,
    *,
    test_path: str,
    tests: str,
    failing: FailingTest,
    subject: TestSubject,
    idea: str,
    repair: bool,
    temperature: float | None = None,
) -> str | None:
    """The test file with `failing`'s function corrected, or None: the function is not found (the file does
    not parse), no usable answer, or an answer that no longer checks the module or breaks the file."""
    place = located_function(tests, failing.name, failing.class_name)
    function = function_text(tests, failing.name, failing.class_name)
    if place is None or function is None:
        return None
    # A file the test reads and nobody wrote: the test writes it first, in pytest's `tmp_path`.
    missing = missing_file(failing.report)
    header = place.signature
    if missing is not None:
        header = header_with_parameter(place.signature, failing.name, TMP_PATH) or header
    prompt = render_prompt(
        "fix_test_function.j2",
        test=failing,
        test_path=test_path,
        module_path=subject.path,
        function=function,
        header=header,
        missing_file=missing if TMP_PATH in header else None,
        definitions=used_definitions(subject.code, function),
        compared=compared(failing.report),
        silent=_silent_function(failing.report, subject.code),
        elsewhere=_method_elsewhere(failing.report, subject.code),
        idea=idea,
    )
    subject_line = f"{test_path}:{failing.qualname}"
    answer = await function_answer(
        llm,
        persona,
        prompt,
        action=NAME,
        subject=subject_line,
        repair=repair,
        max_tokens=MAX_ANSWER_TOKENS,
        temperature=temperature,
    )
    if answer is None:
        return None
    spliced = splice_body(tests, place, answer)
    if spliced is None:
        log.warning("%s %s: the answer has no body", NAME, subject_line)
        return None
    corrected = function_text(spliced, failing.name, failing.class_name)
    if corrected is not None and re.search(rf"\b{TMP_PATH}\b", corrected) and TMP_PATH not in place.signature:
        # The body writes its file in `tmp_path`: the test asks pytest for it (the header is the test's own).
        spliced = with_parameter(spliced, failing.name, failing.class_name, TMP_PATH) or spliced
        corrected = function_text(spliced, failing.name, failing.class_name)
    if corrected is None:
        log.warning("%s %s: the answer does not parse in place", NAME, subject_line)
        return None
    if stands_in(corrected) and not stands_in(function):
        log.warning(
            "%s %s: the answer puts stand-ins (mocks) in place of the code it tests; not kept", NAME, subject_line
        )
        return None
    if not checks_something_of(corrected, module_names(subject.code), subject.import_name):
        log.warning("%s %s: the answer no longer checks %s; not kept", NAME, subject_line, subject.path)
        return None
    return spliced


def _method_elsewhere(report: str, module_code: str) -> dict[str, str] | None:
    """What to say when the test called a method on an object of a class of the module that lacks it, and
    another class of the module has it (the 0.5B's tic-tac-toe tests: `TicTacToe().is_full()`, a method of
    `Board`); else None."""
    missing = missing_attribute(report)
    if missing is None:
        return None
    owners = [owner for owner in classes_with_method(module_code, missing[1]) if owner != missing[0]]
    if not owners:
        return None
    named = ", ".join(f"`{owner}`" for owner in owners)
    return {"asked": missing[0], "method": missing[1], "owners": named, "verb": "has" if len(owners) == 1 else "have"}


def _silent_function(report: str, module_code: str) -> str | None:
    """The name of the module's function whose result the failed assert compared when it gives none (no
    `return` of a value): a test expecting `True` of the 0.5B's `add_task` checks what the code never says."""
    name = silent_call(report)
    found = function_named(module_code, name) if name is not None else None
    return name if found is not None and gives_nothing(module_code, *found) else None
