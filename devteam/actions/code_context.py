"""What a WriteCode / ReviewCode prompt carries about the rest of the project, fitted to the model's window.

Candidates go from richest to leanest:
  code       every dependency's full code, the design slice (diagram lines, neighbours), PRD goals
  interfaces dependencies' interfaces (signatures and docstrings from their AST) instead of their code
  trimmed    interfaces, the file's own class-diagram lines and the files that use it; no call flow, no PRD goals
  minimal    interfaces and the file's own spec only
A file starts at `interfaces` — a caller needs the contract, not the bodies — except test files, which assert
on behaviour and start at `code`. `fit_prompt` takes the first candidate that leaves room for the answer in
the model's window (counted by the server's tokenizer where it has one) and sets `max_tokens` to what is
left. When even the leanest does not fit it stops with `ContextWindowError`, rather than send a prompt the
server would silently cut from the front.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from devteam.artifacts.code_interface import python_interface, top_level_names
from devteam.artifacts.design_slice import DesignSlice, design_slice
from devteam.artifacts.documents import PlannedFile, SystemDesign
from devteam.artifacts.file_plan import plan_key
from devteam.artifacts.program_layout import is_test_path
from devteam.core.errors import ContextWindowError
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage, TokenCount

log = logging.getLogger("devteam.context")

Level = Literal["code", "interfaces", "trimmed", "minimal"]
LEVELS: tuple[Level, ...] = ("code", "interfaces", "trimmed", "minimal")
# An interface is worth sending instead of the code only when it is clearly smaller.
INTERFACE_WORTH = 0.8
# The least room a code answer needs; a review answer needs room for the whole file again.
MIN_ANSWER_TOKENS = 512


@dataclass(frozen=True)
class CodeContext:
    """One candidate: the dependencies as shown (path -> code or interface) and the design as far as kept."""

    level: Level
    dependencies: dict[str, str]
    interfaces: frozenset[str]  # the dependency paths shown as interfaces
    design: DesignSlice
    overview: bool  # whether the PRD's goals and requirements and the implementation approach are shown


def code_contexts(
    design: SystemDesign, planned: PlannedFile, sources: dict[str, str], plan_dependencies: dict[str, list[str]]
) -> list[CodeContext]:
    """The candidates for `planned`, richest first, starting at its preferred level."""
    key = plan_key(planned.path)
    code = {path: sources[path] for path in plan_dependencies.get(key, []) if path in sources}
    shown, as_interfaces = dict(code), set()
    for path, text in code.items():
        interface = python_interface(text) if path.endswith(".py") else None
        if interface is not None and len(interface) <= INTERFACE_WORTH * len(text):
            shown[path] = interface
            as_interfaces.add(path)
    full = design_slice(design, planned, dependencies=plan_dependencies, shown=defined_names(code))
    trimmed = replace(full, call_flow="", siblings=[])
    minimal = replace(trimmed, class_diagram="", used_by=[])
    candidates = [
        CodeContext("code", code, frozenset(), full, True),
        CodeContext("interfaces", shown, frozenset(as_interfaces), full, True),
        CodeContext("trimmed", shown, frozenset(as_interfaces), trimmed, False),
        CodeContext("minimal", shown, frozenset(as_interfaces), minimal, False),
    ]
    start = 0 if is_test_path(key) or not as_interfaces else 1
    return candidates[start:]


def defined_names(sources: dict[str, str]) -> frozenset[str]:
    """The top-level classes and functions the Python files among `sources` define."""
    names: set[str] = set()
    for path, text in sources.items():
        if path.endswith(".py"):
            names |= top_level_names(text)
    return frozenset(names)


@dataclass(frozen=True)
class FittedPrompt:
    messages: list[ChatMessage]
    context: CodeContext
    max_tokens: int | None  # None: the window is unknown, the configured max_token applies
    prompt_tokens: TokenCount | None
    window: int | None


async def fit_prompt(
    llm: LLM,
    contexts: list[CodeContext],
    render: Callable[[CodeContext], list[ChatMessage]],
    *,
    expected_answer: str = "",
    describe: str,
) -> FittedPrompt:
    """The richest candidate whose prompt leaves room for the answer in the window; `max_tokens` = the rest.

    The answer needs `MIN_ANSWER_TOKENS`, or the size of `expected_answer` (a review may return the whole file).
    """
    window = await llm.provider.context_window()
    if window is None:
        return FittedPrompt(render(contexts[0]), contexts[0], None, None, None)
    answer_tokens = MIN_ANSWER_TOKENS
    if expected_answer:
        answer_tokens = max(answer_tokens, (await llm.prompt_tokens([ChatMessage("assistant", expected_answer)])).n)
    answer_tokens = min(answer_tokens, llm.max_tokens)
    sizes: list[str] = []
    for context in contexts:
        messages = render(context)
        counted = await llm.prompt_tokens(messages)
        room = window - counted.n
        if room >= answer_tokens:
            if context is not contexts[0]:
                log.info(
                    "context_fit: %s sent with %s (%d of %d tokens; richer prompts did not fit)",
                    describe,
                    context.level,
                    counted.n,
                    window,
                )
            return FittedPrompt(messages, context, min(llm.max_tokens, room), counted, window)
        sizes.append(f"{context.level} {counted.n}")
    how = "counted by the server" if counted.exact else "estimated"
    raise ContextWindowError(
        f"{describe}: the prompt does not fit the model's window of {window} tokens with {answer_tokens} left for "
        f"the answer (prompt tokens, {how}: {', '.join(sizes)}). Give the model a larger window "
        "(llm.context_length in config2.yaml, and the server's own setting: llama.cpp --ctx-size, vLLM "
        "--max-model-len), or plan smaller files."
    )
