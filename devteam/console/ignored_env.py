"""Environment variables that are set but were not used, named before a run and in `metagpt check`.

A shell with `OPENAI_BASE_URL` exported from another project, and a config2.yaml that selects ollama: the run
goes to ollama, which is right, but the user who exported the variable expects it to count. Saying so at the
top of the run (and in `check`) ends the guessing.
"""

from __future__ import annotations

from collections.abc import Mapping

from devteam.config.settings import Config

# Each variable and the `llm` key it would set.
_VARIABLES = {
    "OPENAI_BASE_URL": "base_url",
    "OPENAI_API_BASE": "base_url",
    "OPENAI_API_KEY": "api_key",
    "OLLAMA_HOST": "base_url",
}


def ignored_variables(config: Config, env: Mapping[str, str]) -> list[str]:
    """One line per variable that is set (not empty) but decided nothing in this config, and why."""
    llm = config.llm
    if llm.api_type == "replay":
        return []
    lines = []
    for variable, key in _VARIABLES.items():
        if not env.get(variable, "").strip():
            continue
        origin = config.origin(f"llm.{key}")
        if origin == f"from environment variable {variable}":
            continue
        lines.append(f"{variable} is set but not used: {_why(config, variable, key, origin)}")
    return lines


def _why(config: Config, variable: str, key: str, origin: str) -> str:
    api_type = config.llm.api_type
    selected = config.origin("llm.api_type")
    where = f" ({origin})" if origin != "default" else ""
    if variable == "OLLAMA_HOST" and api_type != "ollama":
        return f"the config selects api_type {api_type} ({selected}), not ollama"
    if variable != "OLLAMA_HOST" and api_type not in ("openai", "open_llm"):
        return f"the config selects api_type {api_type} ({selected}); OpenAI's variables are for openai/open_llm"
    if key == "api_key" and api_type == "open_llm":
        return "it is OpenAI's key, never sent to the open_llm server the config names"
    if origin.startswith("from environment variable"):
        return f"{origin.removeprefix('from ')} decided {key} first"
    return f"the config names {key} itself{where}"
