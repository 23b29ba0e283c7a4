"""CheckExpected: which of two values a call must give, the code's or the one its failing test expects.

The 0.5B's FixTest answers wrote the wrong expected value again (`meters_to_kilometers(10) == 1.0`, the code
giving 0.01) in every answer over three suites; asked which of the two is right, a choice the server's grammar
holds to the two values, it can say. It is asked twice, the options in both orders, and only an answer that
names the same value both times counts: a model that picks the first option (or the second) every time says
nothing. The edit itself is made by `artifacts.expected_values`, and kept only where the checks score it better.
"""

from __future__ import annotations

import logging
import re
from typing import Literal

from devteam.actions.persona import Persona
from devteam.artifacts.expected_values import DisputedValue
from devteam.core.errors import StructuredOutputError
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.choose import choose_from_options

log = logging.getLogger("devteam.engineer")

NAME = "CheckExpected"
Side = Literal["code", "test"]
# An option is an enum value in the request's JSON schema; llama-cpp-python's server died (a segfault in its
# grammar) on one holding a quoted string. Values a short, quote-free option cannot carry are not asked about.
_OPTION = re.compile(r"[^\"'`\\\n]{1,60}")


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
