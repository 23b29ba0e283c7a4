"""FitImports: a written file that imports what does not exist goes back to its writer once, with the real
interfaces of the files it imports from (and the packages it may use).

The check is `artifacts.import_fit`; this action asks, and keeps the answer only when it compiles and fits
better than the file it replaces. Where even that answer imports a module nothing provides, the import line goes,
and the names it bound are handed back: the functions that use them are written again without it
(`roles.engineer_fit`).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass

from devteam.actions.persona import Persona, language_of
from devteam.artifacts.code_interface import python_interface
from devteam.artifacts.hollow_code import syntax_errors
from devteam.artifacts.import_fit import ImportMiss, import_misses, imported_names, without_import_lines
from devteam.core.errors import StructuredOutputError
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_code

log = logging.getLogger("devteam.repair")

NAME = "FitImports"
MARKER = "repair_import_fit"
DROPPED = "repair_import_dropped"


@dataclass(frozen=True)
class FittedFile:
    code: str
    # The modules whose import lines were dropped (nothing provides them) and the names those lines bound: a
    # function that uses one (the 0.5B's `markdown.markdown(text)`, `markdown` dropped) fails when called.
    dropped_modules: tuple[str, ...] = ()
    dropped_names: frozenset[str] = frozenset()


async def fit_imports(
    llm: LLM,
    persona: Persona,
    *,
    path: str,
    sources: dict[str, str],
    required: list[str],
    repair: bool,
    conversation: list[ChatMessage] | None = None,
) -> FittedFile | None:
    """The file at `path` rewritten to import only what exists, or None (it fits, or no better answer came).
    With `conversation` (the request that wrote the file and its answer) the follow-up continues it, so a
    server's prefix cache serves the writing prompt."""
    code = sources[path]
    misses = import_misses(path, code, sources, required)
    if not misses:
        return None
    log.info("%s: %s: %s", MARKER, path, "; ".join(miss.detail for miss in misses))
    llm.ledger.add_repairs([MARKER])
    prompt = render_prompt(
        "fit_imports.j2",
        path=path,
        code=code,
        misses=misses,
        interfaces=_interfaces(misses, sources),
        third_party=any(miss.module_path is None for miss in misses),
        required=required,
        language_of=language_of,
        line_of=lambda miss: _source_line(code, miss.line),
    )
    try:
        answer = await ask_code(
            llm,
            [*(conversation or [persona.system_message()]), ChatMessage("user", prompt)],
            role=persona.role,
            action=NAME,
            subject=path,
            language=language_of(path),
            repair=repair,
            max_reasks=1,
        )
    except StructuredOutputError as error:
        log.warning("%s %s: no usable answer (%s); kept as written", NAME, path, error)
        return None
    left = import_misses(path, answer.value, {**sources, path: answer.value}, required)
    if syntax_errors(path, answer.value) and not syntax_errors(path, code):
        log.warning("%s %s: the answer does not compile; kept as written", NAME, path)
        return _without_what_cannot_load(path, code, misses)
    if len(left) >= len(misses):
        log.warning("%s %s: the answer fits no better (%s); kept as written", NAME, path, _details(left))
        return _without_what_cannot_load(path, code, misses)
    if left:
        log.warning("%s %s: still imports what does not exist: %s", NAME, path, _details(left))
        return _without_what_cannot_load(path, answer.value, left) or FittedFile(answer.value)
    return FittedFile(answer.value)


def _without_what_cannot_load(path: str, code: str, misses: list[ImportMiss]) -> FittedFile | None:
    """The last resort after the follow-up: an import of a module nothing provides (not planned, not required,
    not installed) stops the whole file at its first line, so the line goes and the rest can load and be
    tested (a 0.5B kept `from graphics import *` in a standard-library snake through every follow-up).
    None when there is no such import or the file would not parse without it."""
    lines = {miss.line for miss in misses if miss.module_path is None and miss.module is not None}
    unavailable = {
        miss.line for miss in misses if miss.line in lines and importlib.util.find_spec(miss.module or "") is None
    }
    trimmed = without_import_lines(code, unavailable)
    if trimmed is None:
        return None
    log.warning(
        "%s: %s: dropped the import(s) of what nothing provides, at line(s) %s",
        DROPPED,
        path,
        ", ".join(str(line) for line in sorted(unavailable)),
    )
    modules = tuple(dict.fromkeys(miss.module or "" for miss in misses if miss.line in unavailable))
    return FittedFile(trimmed, modules, frozenset(imported_names(code, unavailable)))


def _source_line(code: str, line: int) -> str:
    lines = code.splitlines()
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _interfaces(misses: list[ImportMiss], sources: dict[str, str]) -> dict[str, str]:
    shown: dict[str, str] = {}
    for miss in misses:
        if miss.module_path is not None and miss.module_path not in shown:
            text = sources[miss.module_path]
            shown[miss.module_path] = python_interface(text) or text
    return shown


def _details(misses: list[ImportMiss]) -> str:
    return "; ".join(miss.detail for miss in misses)
