"""The strict (OpenAI `response_format`) form of the artifact schemas, and the schema text for prompts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import Enum
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from devteam.artifacts.documents import PRD, SystemDesign
from devteam.structured.schema import schema_for_prompt, to_strict_schema


class Color(str, Enum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    model_config = ConfigDict(extra="forbid")

    x: int
    y: int = 0


class Shape(BaseModel):
    """Exercises what the artifacts do not: optional model, enum default, nested model default, dict field."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(description="A property that is called title.")
    color: Color = Color.RED
    size: Literal["s", "m", "l"] = "m"
    origin: Point = Field(default_factory=Point, description="Where it starts.")
    anchor: Point | None = None
    corners: list[Point] = Field(description="The corners.")
    labels: dict[str, str] = Field(default_factory=dict)


def schemas(node: Any) -> Iterator[dict[str, Any]]:
    """Every schema node, walking only the keywords that hold schemas (not property names or defaults)."""
    if not isinstance(node, dict):
        return
    yield node
    for key in ("properties", "$defs"):
        for child in node.get(key, {}).values():
            yield from schemas(child)
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for child in node.get(key, []):
            yield from schemas(child)
    for key in ("items", "additionalProperties", "not"):
        yield from schemas(node.get(key))


def accepts_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type", [])
    return "null" in (kinds if isinstance(kinds, list) else [kinds]) or {"type": "null"} in schema.get("anyOf", [])


@pytest.mark.parametrize("model", [PRD, SystemDesign, Shape], ids=lambda m: m.__name__)
def test_every_object_is_closed_and_fully_required(model: type[BaseModel]) -> None:
    strict = to_strict_schema(model)
    objects = [node for node in schemas(strict) if "properties" in node]
    assert objects
    for node in objects:
        assert node["additionalProperties"] is False
        assert node["required"] == list(node["properties"])


@pytest.mark.parametrize("model", [PRD, SystemDesign, Shape], ids=lambda m: m.__name__)
def test_no_default_no_oneof_allof_and_nothing_beside_ref(model: type[BaseModel]) -> None:
    for node in schemas(to_strict_schema(model)):
        assert "default" not in node
        assert "oneOf" not in node and "allOf" not in node
        if "$ref" in node:
            assert list(node) == ["$ref"], node


def test_prd_optional_fields_become_nullable_and_required_ones_do_not() -> None:
    properties = to_strict_schema(PRD)["properties"]
    for name in ("competitive_quadrant_chart", "ui_design_draft", "anything_unclear"):
        assert properties[name]["type"] == ["string", "null"]
    for name in ("language", "project_name", "requirement_analysis"):
        assert properties[name]["type"] == "string"
    assert properties["requirement_pool"]["items"] == {"$ref": "#/$defs/Requirement"}


def test_system_design_defaults_nullable_including_nested_file_plan() -> None:
    strict = to_strict_schema(SystemDesign)
    assert strict["properties"]["required_packages"]["type"] == ["array", "null"]
    planned = strict["$defs"]["PlannedFile"]
    assert planned["properties"]["depends_on"]["type"] == ["array", "null"]
    assert planned["properties"]["path"]["type"] == "string"
    assert planned["required"] == ["path", "purpose", "depends_on"]


def test_descriptions_are_kept() -> None:
    strict = to_strict_schema(PRD)
    assert strict["properties"]["project_name"]["description"] == PRD.model_fields["project_name"].description
    priority = strict["$defs"]["Requirement"]["properties"]["priority"]
    assert priority["description"].startswith("P0 must have")
    assert priority["enum"] == ["P0", "P1", "P2"]  # the described $ref was put in place


def test_shapes_of_nullable() -> None:
    properties = to_strict_schema(Shape)["properties"]
    assert properties["color"] == {"anyOf": [{"$ref": "#/$defs/Color"}, {"type": "null"}]}
    assert properties["size"]["enum"] == ["s", "m", "l", None]  # OpenAI wants null among the enum values too
    assert accepts_null(properties["origin"]) and properties["origin"]["description"] == "Where it starts."
    assert properties["anchor"]["anyOf"].count({"type": "null"}) == 1
    assert not accepts_null(properties["corners"])
    assert properties["title"]["description"] == "A property that is called title."
    assert "title" not in properties["title"]


def test_strict_schema_is_json_and_does_not_touch_the_model_schema() -> None:
    before = json.dumps(PRD.model_json_schema(), sort_keys=True)
    json.dumps(to_strict_schema(PRD))
    assert json.dumps(PRD.model_json_schema(), sort_keys=True) == before


def test_schema_for_prompt_is_indented_json_without_titles() -> None:
    text = schema_for_prompt(SystemDesign)
    schema = json.loads(text)
    assert "\n  " in text
    assert '"title"' not in text
    assert schema["required"] == [
        "implementation_approach",
        "file_list",
        "data_structures_and_interfaces",
        "program_call_flow",
    ]
    assert schema["properties"]["anything_unclear"]["default"] == ""
    assert "Shape" not in schema_for_prompt(Shape) and '"title"' in schema_for_prompt(Shape)
