"""The structured-output ladder as data: which levels each provider offers, and how a run moves down them."""

from __future__ import annotations

from pathlib import Path

import pytest

from devteam.llm.output_levels import LevelCache, OutputLevels, default_cache_path
from devteam.llm.providers.human import HumanProvider
from devteam.llm.providers.ollama import OllamaProvider, format_for
from devteam.llm.providers.openai_compat import OpenAICompatProvider
from devteam.llm.types import Capabilities, ChatMessage, ChatRequest

OPENAI_LIKE = Capabilities(json_schema=True, json_object_schema=True, json_object=True)


def test_each_provider_offers_its_levels_as_data() -> None:
    assert OpenAICompatProvider.capabilities.output_levels() == (
        "json_schema",
        "json_object_schema",
        "json_object",
        "prompt",
    )
    # ollama takes the schema itself as `format`; it has no json_object-with-schema form.
    assert OllamaProvider.capabilities.output_levels() == ("json_schema", "json_object", "prompt")
    assert HumanProvider.capabilities.output_levels() == ("prompt",)


def test_ollama_sends_the_schema_as_format_and_json_mode_as_json() -> None:
    schema = {"type": "object"}
    messages = [ChatMessage("user", "hi")]
    assert format_for(ChatRequest(messages=messages, json_schema=schema, output_mode="json_schema")) == schema
    assert format_for(ChatRequest(messages=messages, json_schema=schema, output_mode="json_object")) == "json"
    assert format_for(ChatRequest(messages=messages, json_schema=schema, output_mode="prompt")) is None


def test_auto_steps_down_one_offered_level_at_a_time() -> None:
    levels = OutputLevels(OllamaProvider.capabilities, "auto")
    assert levels.current == "json_schema"
    assert levels.step_down("json_schema", "no format") == "json_object"  # ollama skips json_object_schema
    assert levels.step_down("json_object", "no json") == "prompt"
    assert levels.step_down("prompt", "?") is None
    assert levels.rejection == "no json"


def test_a_late_rejection_of_a_level_already_left_does_not_step_twice() -> None:
    levels = OutputLevels(OPENAI_LIKE, "auto")
    levels.step_down("json_schema", "first")
    # A second request sent at json_schema before the first rejection came back is rejected too.
    assert levels.step_down("json_schema", "second") == "json_object_schema"
    assert levels.current == "json_object_schema"


def test_requests_made_before_a_step_down_are_clamped_to_the_current_level() -> None:
    levels = OutputLevels(OPENAI_LIKE, "auto")
    levels.step_down("json_schema", "no")
    assert levels.clamp("json_schema") == "json_object_schema"
    assert levels.clamp("json_object") == "json_object"
    assert levels.clamp("prompt") == "prompt"


@pytest.mark.parametrize("setting", ["json_schema", "json_object_schema", "json_object", "prompt"])
def test_a_forced_level_never_steps_down(setting: str) -> None:
    levels = OutputLevels(OPENAI_LIKE, setting)
    assert levels.current == setting
    assert levels.step_down(levels.current, "no") is None


def test_a_forced_level_the_provider_lacks_means_prompt() -> None:
    assert OutputLevels(OllamaProvider.capabilities, "json_object_schema").current == "prompt"


def test_a_cached_level_the_provider_does_not_offer_is_ignored(tmp_path: Path) -> None:
    cache = LevelCache(tmp_path / "levels.json")
    cache.put("k", "json_object_schema")
    assert OutputLevels(OllamaProvider.capabilities, "auto", cache=cache, cache_key="k").current == "json_schema"
    assert OutputLevels(OPENAI_LIKE, "auto", cache=cache, cache_key="k").current == "json_object_schema"
    assert OutputLevels(OPENAI_LIKE, "auto", cache=cache, cache_key="k", use_cached=False).current == "json_schema"


def test_the_cache_lives_under_the_xdg_cache_dir(tmp_path: Path) -> None:
    assert default_cache_path({"XDG_CACHE_HOME": str(tmp_path)}, Path("/nohome")) == (
        tmp_path / "devteam" / "structured_output.json"
    )
    assert default_cache_path({}, tmp_path) == tmp_path / ".cache" / "devteam" / "structured_output.json"


def test_an_unwritable_cache_is_not_an_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = LevelCache(blocker / "sub" / "levels.json")  # its folder cannot be made: a file is in the way
    cache.put("k", "prompt")
    assert cache.get("k") is None
