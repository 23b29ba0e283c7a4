"""CheckExpected: which of two values a call must give, the code's or the one its failing test expects.

The 0.5B's FixTest answers wrote the wrong expected value again (`meters_to_kilometers(10) == 1.0`, the code
giving 0.01) in every answer over three suites; asked which of the two is right, a choice the server's grammar
holds to the two values, it can say. It is asked twice, the options in both orders, and only an answer that
names the same value both times counts: a model that picks the first option (or the second) every time says
nothing. Where both values are numbers the model is first asked to work the call's number out, shown neither
value (the 0.5B named the first option in both orders for `kilograms_to_pounds(2.5)`: 5.5115, then 7.5): a
number within 5% of one value and not the other names that one, with no position to be biased by. The edit
itself is made by `artifacts.expected_values`, and kept only where the checks score it better.
"""

from __future__ import annotations

import ast
import logging
import re
from typing import Literal

from devteam.actions.persona import Persona
from devteam.artifacts.expected_values import DisputedValue
from devteam.core.errors import StructuredOutputError
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.structured.ask import ask_parsed
from devteam.structured.choose import choose_from_options
from devteam.structured.extract import ParseFailure

log = logging.getLogger("devteam.engineer")

NAME = "CheckExpected"
Side = Literal["code", "test"]
# An option is an enum value in the request's JSON schema; llama-cpp-python's server died (a segfault in its
# grammar) on one holding a quoted string. Values a short, quote-free option cannot carry are not asked about.
_OPTION = re.compile(r"[^\"'`\\\n]{1,60}")


# A number worked out in a line or two; an estimate within 5% of one value and not the other names it.
ESTIMATE_TOKENS = 128
AGREEMENT = 0.05
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def option_text(value: str) -> str | None:
    """`value` (as Python writes it) as an option: a string without its quotes; None when it does not fit."""
    text = value[1:-1] if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"" else value
    return text if _OPTION.fullmatch(text) else None


async def right_value(
    llm: LLM,
    persona: Persona,
    *,
    dispute: DisputedValue,
    test_name: str,
    function: str,
    module_path: str,
    idea: str,
    subject: str,
    repair: bool,
) -> Side | None:
    """ "code" or "test": the side whose value the model named in both orders; None when it named each once."""
    code_option, test_option = option_text(dispute.code_gives), option_text(dispute.test_expects)
    if code_option is None or test_option is None or code_option == test_option:
        log.info(
            "%s %s: %s or %s is no choice to offer; not asked", NAME, subject, dispute.code_gives, dispute.test_expects
        )
        return None
    estimated = await _estimated_side(llm, persona, dispute, module_path=module_path, idea=idea, subject=subject)
    if estimated is not None:
        return estimated
    named: list[str] = []
    for first, second in ((code_option, test_option), (test_option, code_option)):
        prompt = render_prompt(
            "check_expected.j2",
            idea=idea,
            test_name=test_name,
            module_path=module_path,
            function=function,
            computed=dispute.computed,
            first=first,
            second=second,
        )
        messages = [
            persona.system_message(),
            ChatMessage("user", prompt + "\n\n" + render_prompt("choose_answer.j2", options=[first, second])),
        ]
        try:
            answer = await choose_from_options(
                llm, messages, [first, second], role=persona.role, action=NAME, subject=subject, repair=repair
            )
        except StructuredOutputError as error:
            log.warning("%s %s: no choice (%s)", NAME, subject, error)
            return None
        named.append(answer.value)
    if named[0] != named[1]:
        log.info("%s %s: %s named %s, then %s: no answer", NAME, subject, dispute.computed, named[0], named[1])
        return None
    side: Side = "code" if named[0] == code_option else "test"
    log.info(
        "%s %s: %s must give %s (the %s's value), named in both orders",
        NAME,
        subject,
        dispute.computed,
        named[0],
        side,
    )
    return side


async def _estimated_side(
    llm: LLM, persona: Persona, dispute: DisputedValue, *, module_path: str, idea: str, subject: str
) -> Side | None:
    """Where both values are numbers: the side whose value the model's own working-out of the call comes within
    `AGREEMENT` of (and not of the other's); None when it matches neither, or both, or gives no number."""
    code_value, test_value = _number(dispute.code_gives), _number(dispute.test_expects)
    if code_value is None or test_value is None:
        return None
    prompt = render_prompt("estimate_value.j2", idea=idea, computed=dispute.computed, module_path=module_path)
    request = ChatRequest(
        messages=[persona.system_message(), ChatMessage("user", prompt)],
        max_tokens=ESTIMATE_TOKENS,
        role=persona.role,
        action=NAME,
        subject=subject,
    )

    def parse(text: str) -> tuple[float, list[str]]:
        found = _NUMBER.findall(text)
        if not found:
            raise ParseFailure("validation", "end with the number alone on the last line")
        return float(found[-1]), []

    try:
        estimate = (await ask_parsed(llm, request, parse, max_reasks=0)).value
    except StructuredOutputError as error:
        log.info("%s %s: no number worked out (%s)", NAME, subject, error)
        return None
    near_code, near_test = _near(estimate, code_value), _near(estimate, test_value)
    if near_code == near_test:
        log.info("%s %s: %s worked out as %g: neither value alone", NAME, subject, dispute.computed, estimate)
        return None
    side: Side = "code" if near_code else "test"
    log.info(
        "%s %s: %s worked out as %g: the %s's value (%s)",
        NAME,
        subject,
        dispute.computed,
        estimate,
        side,
        dispute.code_gives if near_code else dispute.test_expects,
    )
    return side


def _number(value: str) -> float | None:
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if isinstance(parsed, bool) or not isinstance(parsed, (int, float)):
        return None
    return float(parsed)


def _near(estimate: float, value: float) -> bool:
    return abs(estimate - value) <= AGREEMENT * max(abs(value), 1e-9)
