"""A placeholder-only example of a model's JSON shape, for prompts.

MetaGPT's format examples carry real "2048 game" content that small models copy into unrelated projects;
placeholders show the shape and nothing else.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, get_args, get_origin

from pydantic import BaseModel


def skeleton(model: type[BaseModel]) -> str:
    return json.dumps(_object_skeleton(model), indent=2)


def _object_skeleton(model: type[BaseModel]) -> dict[str, Any]:
    return {name: _value_skeleton(field.annotation) for name, field in model.model_fields.items()}


def _value_skeleton(annotation: Any) -> Any:
    origin = get_origin(annotation)
    if origin in (list, tuple, set):
        (item,) = get_args(annotation)[:1] or (str,)
        return [_value_skeleton(item), "..."]
    args = [arg for arg in get_args(annotation) if arg is not type(None)]
    if origin is not None and args:
        return _value_skeleton(args[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _object_skeleton(annotation)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " | ".join(str(member.value) for member in annotation)
    if annotation is bool:
        return "<true or false>"
    if annotation in (int, float):
        return "<number>"
    return "<text>"
