"""`choose_from_options` (the seeds' LanguageBackend method): a constrained choice among a few options.

The options become an enum in the JSON schema, so a server with constrained decoding (OpenAI and vLLM's
json_schema, ollama's format, llama.cpp's grammar) cannot answer anything else; elsewhere the prompt lists them
and the ladder repairs and re-asks as for any structured answer. A bare option ("LGTM") is accepted as it is:
weak models often answer that way, and it is unambiguous.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, ChatRequest
from devteam.structured.ask import Answer, ask_parsed
from devteam.structured.parse import parse_structured
from devteam.structured.schema import to_strict_schema

_QUOTES = "\"'`*. \n\t"
# The most a choice can need: `{"choice": "<one option>"}`.
CHOICE_TOKENS = 512


def choice_model(options: Sequence[str]) -> type[BaseModel]:
    """A one-field model whose `choice` must be one of `options` (an enum in its JSON schema)."""
    if len(options) < 2 or len(set(options)) != len(options):
        raise ValueError(f"choose_from_options needs at least two distinct options, got {list(options)!r}")
    literal: Any = Literal[tuple(options)]  # type: ignore[valid-type]
    return create_model(
        "Choice",
        __config__=ConfigDict(extra="forbid"),
        choice=(literal, Field(description="Exactly one of the options.")),
    )


def bare_option(text: str, options: Sequence[str]) -> str | None:
    """The option an answer names on its own (quotes, backticks and a final period aside), if any."""
    word = text.strip().strip(_QUOTES).casefold()
    return next((option for option in options if option.casefold() == word), None)


async def choose_from_options(
    llm: LLM,
    prompt: str | list[ChatMessage],
    options: Sequence[str],
    *,
    role: str,
    action: str,
    subject: str = "",
    repair: bool = True,
) -> Answer[str]:
    """One of `options`, chosen by the model for `prompt`.

    A string prompt gets the answer format appended; a message list must already end with it (render
    `choose_answer.j2` with `options` into the last user message).
    """
    model = choice_model(options)
    if isinstance(prompt, str):
        messages = [ChatMessage("user", prompt + "\n\n" + render_prompt("choose_answer.j2", options=list(options)))]
    else:
        messages = list(prompt)
    request = ChatRequest(
        messages=messages,
        json_schema=to_strict_schema(model),
        schema_name="Choice",
        output_mode=llm.output_mode(wants_json=True),
        # One option's name, in JSON: a choice that runs longer is a loop.
        max_tokens=min(CHOICE_TOKENS, llm.max_tokens),
        role=role,
        action=action,
        subject=subject,
    )

    def parse(text: str) -> tuple[str, list[str]]:
        named = bare_option(text, options)
        if named is not None:
            return named, []
        result = parse_structured(text, model, repair=repair)
        return str(result.value.choice), result.repairs  # type: ignore[attr-defined]

    return await ask_parsed(llm, request, parse)
