"""Render the jinja2 templates: prompts under `prompts/`, documents of the generated repo under `templates/`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


@lru_cache(maxsize=2)
def _environment(folder: str) -> Environment:
    return Environment(
        loader=PackageLoader("devteam", folder),
        undefined=StrictUndefined,  # a missing variable is a bug in our code, not an empty prompt section
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_prompt(name: str, **context: Any) -> str:
    return _environment("prompts").get_template(name).render(**context).strip() + "\n"


def render_document(name: str, **context: Any) -> str:
    return _environment("templates").get_template(name).render(**context).strip() + "\n"
