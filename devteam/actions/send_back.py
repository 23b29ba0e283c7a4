"""Ask for an artifact, check it beyond its types, and send it back once with the problems named.

A second answer that still has problems is settled by the check's own fixes (each a logged `repair_…`), so a
weak model that cannot follow the feedback still yields a usable artifact — with the log saying what was fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from devteam.artifacts.checked import Checked
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import Answer, ask_structured

log = logging.getLogger("devteam.structured")

M = TypeVar("M", bound=BaseModel)
Check = Callable[[M], Checked[M]]


async def ask_checked(
    llm: LLM,
    messages: list[ChatMessage],
    model: type[M],
    *,
    check: Check[M],
    settle: Check[M],
    role: str,
    action: str,
    repair: bool,
    answer_tokens: int | None = None,
) -> Answer[M]:
    """`ask_structured`, then `check`; problems go back to the model once, then `settle` fixes what is left.
    `answer_tokens`: the most this answer can need (the action's cap under `max_token`)."""
    answer = await ask_structured(
        llm, messages, model, role=role, action=action, repair=repair, answer_tokens=answer_tokens
    )
    checked = check(answer.value)
    ladder_repairs, check_repairs = list(answer.repairs), list(checked.repairs)
    calls, reasks = answer.calls, answer.reasks
    if checked.problems:
        log.warning("sent_back: %s %s: %s", role, action, " ".join(checked.problems))
        llm.ledger.count_reask()
        again = [
            *messages,
            ChatMessage("assistant", checked.value.model_dump_json(indent=1)),
            ChatMessage("user", render_prompt("sent_back.j2", problems=checked.problems)),
        ]
        answer = await ask_structured(
            llm, again, model, role=role, action=action, repair=repair, answer_tokens=answer_tokens
        )
        checked = check(answer.value)
        ladder_repairs += answer.repairs
        check_repairs += checked.repairs
        calls, reasks = calls + answer.calls, reasks + answer.reasks + 1
        if checked.problems:
            checked = settle(checked.value)
            check_repairs += checked.repairs
    # The ladder's repairs are in the ledger with their exchanges; the checks' are counted here.
    llm.ledger.add_repairs(check_repairs)
    return Answer(
        value=checked.value,
        repairs=ladder_repairs + check_repairs,
        reasks=reasks,
        calls=calls,
        native_schema=answer.native_schema,
        text=answer.text if calls == 1 else "",
    )
