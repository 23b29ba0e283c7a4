"""MetaGPT's ways of writing a flag, turned into ours before argparse reads the line.

MetaGPT's CLI (typer) takes `--code_review False`, `--run_tests`, `--n_round 5`: underscores, and booleans
given a value. A MetaGPT command line should run here unchanged, so each flag the parser knows is accepted in
either spelling, and a boolean flag followed by true/false (or `=false`) becomes the flag or its `--no-` form.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def metagpt_forms(argv: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """`argv` with MetaGPT's spellings of `parser`'s flags rewritten to the parser's own."""
    known = {flag for action in parser._actions for flag in action.option_strings}
    switches = _switches(parser)
    words: list[str] = []
    index = 0
    while index < len(argv):
        word = argv[index]
        index += 1
        if word == "--":
            words += argv[index - 1 :]
            break
        if not word.startswith("--"):
            words.append(word)
            continue
        name, sign, value = word.partition("=")
        has_value = bool(sign)
        name = _spelled(name, known)
        if name not in switches:
            words.append(f"{name}={value}" if has_value else name)
            continue
        if not has_value and index < len(argv) and _is_bool(argv[index]):
            value, has_value = argv[index], True
            index += 1
        words += _switch(name, value if has_value else None, switches[name])
    return words


def _spelled(name: str, known: set[str]) -> str:
    """`--code_review` → `--code-review` when only the dashed form is the parser's."""
    if name in known:
        return name
    dashed = "--" + name[2:].replace("_", "-")
    return dashed if dashed in known else name


def _switches(parser: argparse.ArgumentParser) -> dict[str, tuple[str, str | None]]:
    """Each boolean flag → (its on form, its off form or None): store_true flags and --x/--no-x pairs."""
    found: dict[str, tuple[str, str | None]] = {}
    for action in parser._actions:
        if isinstance(action, argparse.BooleanOptionalAction):
            on = next(flag for flag in action.option_strings if not flag.startswith("--no-"))
            off = "--no-" + on[2:]
            for flag in action.option_strings:
                found[flag] = (on, off) if flag == on or not flag.startswith("--no-") else (off, on)
        elif isinstance(action, argparse._StoreTrueAction):
            for flag in action.option_strings:
                found[flag] = (flag, None)
    return found


def _switch(name: str, value: str | None, forms: tuple[str, str | None]) -> list[str]:
    on, off = forms
    if value is None or value.lower() in TRUE_WORDS:
        return [on]
    if value.lower() in FALSE_WORDS:
        return [off] if off is not None else []  # a store_true flag set to false: as if not given
    return [f"{name}={value}"]  # not a boolean word: argparse says what is wrong with it


def _is_bool(word: str) -> bool:
    return word.lower() in TRUE_WORDS | FALSE_WORDS
