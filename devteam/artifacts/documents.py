"""The documents the roles hand each other: the PRD and the system design (with its file plan).

Field names are snake_case in the schema we send; MetaGPT's spellings ("Original Requirements", "File list")
are mapped onto them by the structured-output repair, so users' existing habits and weak models both work.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Priority(str, Enum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    requirement: str = Field(description="One requirement, as a sentence.")
    priority: Priority = Field(description="P0 must have, P1 should have, P2 nice to have.")


class PRD(BaseModel):
    """Product requirement document, the ProductManager's output."""

    model_config = ConfigDict(extra="forbid")
    # Fields no later stage builds on: one that repeats its description is cleared, not asked for again (the
    # 0.5B echoed the quadrant chart and the UI draft in 3 PRDs of 10 and kept echoing through 2 follow-ups).
    echo_cleared: ClassVar[frozenset[str]] = frozenset(
        {"competitive_quadrant_chart", "ui_design_draft", "anything_unclear"}
    )

    language: str = Field(description="Natural language of the documents, e.g. en_us.")
    programming_language: str = Field(description="Programming language of the code, e.g. Python.")
    original_requirements: str = Field(description="The user's idea, restated.")
    project_name: str = Field(description="A short identifier for the project: lowercase words joined by underscores.")
    product_goals: list[str] = Field(description="Up to three clear, orthogonal goals.")
    user_stories: list[str] = Field(description="Three to five user stories.")
    competitive_analysis: list[str] = Field(description="Similar products and how they compare.")
    competitive_quadrant_chart: str = Field(
        default="", description="A mermaid quadrantChart comparing the competitors."
    )
    requirement_analysis: str = Field(description="What the requirements imply for the product.")
    requirement_pool: list[Requirement] = Field(description="Requirements with priorities.")
    ui_design_draft: str = Field(default="", description="The user interface: elements, layout, style.")
    anything_unclear: str = Field(default="", description="Open questions, or an empty string.")

    # MetaGPT's [["requirement", "P0"], ...] rows are turned into objects by the structured-output repair, with
    # a repair_positional_object line, like every other fix.


class PlannedFile(BaseModel):
    """One file of the file plan: the Engineer writes it after the files it depends on."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Path relative to the project root, with forward slashes.")
    purpose: str = Field(description="What the file contains and which classes/functions it defines.")
    depends_on: list[str] = Field(
        default_factory=list, description="Paths of the planned files this file imports or needs."
    )


class SystemDesign(BaseModel):
    """The Architect's output: how to build it and the file plan."""

    model_config = ConfigDict(extra="forbid")

    implementation_approach: str = Field(description="The approach and the libraries/frameworks chosen.")
    file_list: list[PlannedFile] = Field(description="Every file to write, with its dependencies.")
    data_structures_and_interfaces: str = Field(description="A mermaid classDiagram of the code.")
    program_call_flow: str = Field(description="A mermaid sequenceDiagram of the main flow.")
    required_packages: list[str] = Field(
        default_factory=list,
        description="Third-party packages for requirements.txt, pinned as name==version; never standard-library modules.",
    )
    anything_unclear: str = Field(default="", description="Open questions, or an empty string.")

    @field_validator("file_list", mode="before")
    @classmethod
    def _paths_to_planned_files(cls, value: Any) -> Any:
        # MetaGPT's "File list" is a list of bare paths; keep them, with no known dependencies.
        if isinstance(value, list):
            return [{"path": item, "purpose": ""} if isinstance(item, str) else item for item in value]
        return value
