"""ChooseFramework: the Architect proposes a few frameworks for the PRD, then chooses one among them.

Two calls: a structured proposal (ProposeFrameworks), then `choose_from_options` over the proposed names
(ChooseFramework) — an enum the server enforces where it can, so the choice is one of the proposals, not a new
idea. A proposal of one framework needs no choice. The design is then written for the chosen framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from devteam.actions.persona import Persona
from devteam.artifacts.documents import PRD
from devteam.core.prompting import render_prompt
from devteam.llm.client import LLM
from devteam.llm.types import ChatMessage
from devteam.structured.ask import ask_structured
from devteam.structured.choose import choose_from_options
from devteam.structured.schema import schema_for_prompt
from devteam.structured.skeleton import skeleton

PROPOSE = "ProposeFrameworks"
CHOOSE = "ChooseFramework"
MAX_OPTIONS = 4


class FrameworkOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The framework or library, e.g. pygame, Flask, or the standard library.")
    why: str = Field(description="One sentence: what makes it fit this product, and its main drawback.")


class FrameworkProposal(BaseModel):
    """The frameworks that could build the product, best first."""

    model_config = ConfigDict(extra="forbid")

    options: list[FrameworkOption] = Field(
        description="Two or three frameworks or libraries that could build this product; the standard library "
        "counts as one."
    )


@dataclass
class FrameworkChoice:
    name: str
    why: str
    considered: list[FrameworkOption] = field(default_factory=list)

    @property
    def others(self) -> list[str]:
        return [option.name for option in self.considered if option.name != self.name]


def distinct_options(options: list[FrameworkOption]) -> list[FrameworkOption]:
    """Named options, each name once (case aside), at most MAX_OPTIONS."""
    seen: set[str] = set()
    kept = []
    for option in options:
        key = option.name.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            kept.append(FrameworkOption(name=option.name.strip(), why=option.why.strip()))
    return kept[:MAX_OPTIONS]


async def choose_framework(llm: LLM, persona: Persona, *, idea: str, prd: PRD, repair: bool) -> FrameworkChoice | None:
    """The framework to design for, chosen among the Architect's own proposals; None when it proposed none."""
    prd_json = prd.model_dump_json(
        indent=1,
        include={
            "original_requirements",
            "product_goals",
            "requirement_pool",
            "ui_design_draft",
            "programming_language",
        },
    )
    prompt = render_prompt(
        "propose_frameworks.j2",
        idea=idea,
        prd_json=prd_json,
        schema=schema_for_prompt(FrameworkProposal),
        skeleton=skeleton(FrameworkProposal),
    )
    proposal = await ask_structured(
        llm,
        [persona.system_message(), ChatMessage("user", prompt)],
        FrameworkProposal,
        role=persona.role,
        action=PROPOSE,
        repair=repair,
    )
    options = distinct_options(proposal.value.options)
    if not options:
        return None
    if len(options) == 1:
        return FrameworkChoice(options[0].name, options[0].why, options)
    names = [option.name for option in options]
    prompt = render_prompt("choose_framework.j2", idea=idea, prd_json=prd_json, frameworks=options, options=names)
    chosen = await choose_from_options(
        llm,
        [persona.system_message(), ChatMessage("user", prompt)],
        names,
        role=persona.role,
        action=CHOOSE,
        repair=repair,
    )
    picked = next(option for option in options if option.name == chosen.value)
    return FrameworkChoice(picked.name, picked.why, options)
