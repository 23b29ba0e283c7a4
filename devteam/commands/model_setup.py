"""One step to a model: the environment alone as a config, and the local servers' models offered to pick from.

`OPENAI_API_KEY` (with `OPENAI_BASE_URL` for another hosted endpoint), `OLLAMA_HOST`, or `OPENAI_BASE_URL` alone
(a local OpenAI-compatible server) make a whole config with no file, as llm, aider and gpt-engineer allow. A
model the user did not name is taken from what the server serves: its only model, or the one picked at the
terminal, which can be saved to ~/.metagpt/config2.yaml. Nothing here writes a model the server does not have.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from devteam.config.settings import Config, ConfigNotFoundError, is_http_url, load_config, ollama_host_url
from devteam.config.user_file import write_new_config
from devteam.core.errors import ConfigError, DevteamError
from devteam.core.redaction import url_without_password
from devteam.core.untrusted_text import escape_unsafe

log = logging.getLogger("devteam.config")

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
LIST_TIMEOUT_S = 3.0
DEFAULT_SERVERS = (
    ("ollama", "http://127.0.0.1:11434"),
    ("open_llm", "http://127.0.0.1:8000/v1"),
    ("open_llm", "http://127.0.0.1:8080/v1"),  # llama.cpp's llama-server
)
LABELS = {"ollama": "ollama", "open_llm": "OpenAI-compatible server", "openai": "OpenAI-compatible API"}

# Asks the user a question at the terminal and returns the answer; None when there is no terminal to ask at.
Ask = Callable[[str], str]


@dataclass(frozen=True)
class Server:
    """A model server to configure: what `llm:` needs except the model, and which variable named it."""

    api_type: str
    base_url: str | None
    api_key: str | None = None
    variable: str | None = None

    @property
    def label(self) -> str:
        """For messages: the URL's password is never shown, nor a control character it may hold."""
        where = shown_url(self.base_url) if self.base_url else "api.openai.com"
        return f"{LABELS.get(self.api_type, self.api_type)} at {where}"

    def llm_block(self, model: str) -> dict[str, object]:
        block: dict[str, object] = {"api_type": self.api_type}
        if self.base_url:
            block["base_url"] = self.base_url if self.api_type != "ollama" else self.base_url.rstrip("/") + "/api"
        block["model"] = model
        return block


def shown_url(url: str) -> str:
    """A URL as messages show it: without its password, control characters escaped."""
    return escape_unsafe(url_without_password(url), one_line=True)


def shown_name(name: str) -> str:
    """A name a server sent, as the terminal shows it: quoted, control and bidi characters escaped."""
    return repr(escape_unsafe(name, one_line=True))


def server_from_environment(env: Mapping[str, str]) -> Server | None:
    """The server the environment names, if it names one; OPENAI_API_KEY wins (it is the most deliberate).

    A variable that is not a server address (`OLLAMA_HOST=::::`, a port over 65535) is a ConfigError naming it."""
    key = env.get("OPENAI_API_KEY", "").strip()
    base_variable = "OPENAI_BASE_URL" if env.get("OPENAI_BASE_URL", "").strip() else "OPENAI_API_BASE"
    base_url = env.get(base_variable, "").strip() or None
    if base_url is not None:
        _check_address(base_url, base_url, base_variable, example="http://127.0.0.1:8000/v1")
    if key:
        return Server("openai", base_url, api_key=key, variable="OPENAI_API_KEY")
    host = env.get("OLLAMA_HOST", "").strip()
    if host:
        url = host if "://" in host else ollama_host_url(host)
        _check_address(url, host, "OLLAMA_HOST", example="127.0.0.1:11434")
        return Server("ollama", url, variable="OLLAMA_HOST")
    if base_url:
        return Server("open_llm", base_url, variable=base_variable)
    return None


def _check_address(url: str, given: str, variable: str, *, example: str) -> None:
    if not is_http_url(url):
        raise ConfigError(
            f"{variable}={shown_url(given)} is not a server address (host[:port], port 1-65535, or an http(s) "
            f"URL); set it like {variable}={example}, or unset it"
        )


def load_user_config(
    explicit: Path | None, *, model: str | None, env: Mapping[str, str], cwd: Path, home: Path, ask: Ask | None
) -> Config:
    """The config files, else the environment; `--model` over either. ConfigNotFoundError when neither names
    a server (the caller says what to do: the no-config help, or a replay that needs no server)."""
    try:
        config = load_config(explicit, cwd=cwd, home=home, env=env)
    except ConfigNotFoundError:
        from_environment = environment_config(env, model=model, ask=ask, home=home)
        if from_environment is None:
            raise
        return from_environment
    return config.with_model(model) if model else config


def terminal_ask() -> Ask | None:
    """Questions go to a person only when one is at a terminal; a script gets an error that says what to pass."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        return input
    return None


def environment_config(env: Mapping[str, str], *, model: str | None, ask: Ask | None, home: Path) -> Config | None:
    """A whole config from the environment, or None when the environment names no server."""
    server = server_from_environment(env)
    if server is None:
        return None
    if model is None and server.api_type == "openai":
        model, model_origin = DEFAULT_OPENAI_MODEL, f"the default for {server.variable} without a config"
    elif model is None:
        models = list_models(server)
        model = choose_model(server, models, ask=ask, home=home)
        # Only a server with several models asks; the only one is taken without a question.
        asked = ask is not None and models is not None and len(models) > 1
        model_origin = "picked at the terminal" if asked else f"the only model at {server.base_url}"
    else:
        model_origin = "--model"
    llm: dict[str, object] = server.llm_block(model)
    if server.api_key:
        llm["api_key"] = server.api_key
    return Config.from_llm_block(
        llm,
        {
            "llm.api_type": f"from environment variable {server.variable}",
            "llm.base_url": f"from environment variable {server.variable}",
            "llm.api_key": "from environment variable OPENAI_API_KEY",
            "llm.model": model_origin,
        },
    )


def list_models(server: Server) -> list[str] | None:
    """What the server serves; None when nothing answers there (or the answer is not a model list)."""
    from devteam.llm.provider_settings import ProviderSettings
    from devteam.llm.registry import build_provider

    provider = build_provider(
        ProviderSettings(
            api_type=server.api_type,
            base_url=server.base_url,
            api_key=server.api_key,
            timeout=LIST_TIMEOUT_S,
            stream=False,
        )
    )

    async def listed() -> list[str] | None:
        try:
            return list(await asyncio.wait_for(provider.list_models(), LIST_TIMEOUT_S))
        except (DevteamError, asyncio.TimeoutError, OSError):
            return None
        finally:
            await provider.aclose()

    return asyncio.run(listed())


def choose_model(server: Server, models: list[str] | None, *, ask: Ask | None, home: Path) -> str:
    """The server's only model, or the user's pick at the terminal (offering to save it); else a ConfigError
    that lists the models and the two ways to name one. Names that cannot be used safely are left out."""
    if models is None:
        raise ConfigError(
            f"{server.variable} names {server.label}, but nothing there answered with a model list; "
            "start the server, or fix the variable"
        )
    models = usable_models(models, where=server.label)
    if not models:
        hint = "ollama pull qwen2.5-coder:7b" if server.api_type == "ollama" else "load a model into the server"
        raise ConfigError(f"{server.label} serves no model yet: {hint}")
    if len(models) == 1:
        return models[0]
    if ask is None:
        listed = "\n".join(f"  {name}" for name in models)
        raise ConfigError(
            f"{server.label} serves several models; name one with --model NAME "
            f"(or save it: metagpt --init-config --model NAME):\n{listed}"
        )
    chosen = _pick(models, ask=ask, label=server.label)
    offer_to_save(server, chosen, ask=ask, home=home)
    return chosen


def unusable_reason(name: str) -> str | None:
    """Why a model name a server sent must not be used (None: it may). A name is saved into a config and sent
    back as the model of every request: `${OPENAI_API_KEY}` would be expanded into the user's key and sent to
    that server; a newline would write keys of its own into the saved file; an escape sequence would act on the
    terminal that lists it."""
    if not name.strip():
        return "it is empty"
    if "${" in name:
        return "it holds ${, which a config expands into an environment variable"
    if escape_unsafe(name, one_line=True) != name:
        return "it holds a newline or another control character"
    return None


def usable_models(models: list[str], *, where: str) -> list[str]:
    """The names that can be offered, saved and sent; each one left out is said on one escaped line."""
    usable = []
    for name in models:
        reason = unusable_reason(name)
        if reason is None:
            usable.append(name)
        else:
            log.warning("%s lists a model named %s; it is left out: %s", where, shown_name(name), reason)
    return usable


def _pick(models: list[str], *, ask: Ask, label: str) -> str:
    menu = "\n".join(f"  {number}. {name}" for number, name in enumerate(models, 1))
    answer = ask(f"{label} serves these models:\n{menu}\nWhich one? [1-{len(models)}, Enter = 1] ").strip()
    if not answer:
        return models[0]
    if answer.isdigit() and 1 <= int(answer) <= len(models):
        return models[int(answer) - 1]
    if answer in models:
        return answer
    raise ConfigError(f"{answer!r} is not one of the {len(models)} models listed; run again and pick a number")


def offer_to_save(server: Server, model: str, *, ask: Ask, home: Path) -> None:
    target = user_config_path(home)
    if target.exists():
        return
    answer = ask(f"Save {model} to {target} so the next run needs no question? [Y/n] ").strip().lower()
    if answer in ("", "y", "yes"):
        try:
            print(f"Wrote {write_model_config(server, model, home=home)}")
        except ConfigError as error:  # the run goes on with the model picked; only the saving failed
            print(f"Not saved: {error}")


def user_config_path(home: Path) -> Path:
    return home / ".metagpt" / "config2.yaml"


# Fixed text: nothing a server sent (a model name, a URL) is pasted into the file outside the YAML emitter.
_HEADER = (
    "# Written by `metagpt` for the model picked from a server's model list.\n"
    "# Every key is described in the commented example: `metagpt --init-config` on a machine without\n"
    "# this file, or config/config2.example.yaml in the source.\n"
)


def write_model_config(server: Server, model: str, *, home: Path) -> Path:
    """A short config2.yaml for one server and model, emitted by `yaml.safe_dump`; never over an existing file.
    The key stays in the environment: a file holding it would be one more place for it to leak from."""
    reason = unusable_reason(model)
    if reason is not None:
        raise ConfigError(f"model {shown_name(model)} cannot be saved to a config: {reason}")
    block = server.llm_block(model)
    if server.api_key:
        block["api_key"] = "${OPENAI_API_KEY}"
    text = _HEADER + yaml.safe_dump({"llm": block}, sort_keys=False, allow_unicode=True)
    return write_new_config(user_config_path(home), text.encode("utf-8"))


def init_config_for_model(model: str, *, env: Mapping[str, str], home: Path) -> tuple[Path, Server]:
    """`--init-config --model NAME`: the config for the first server (named by the environment, else the
    usual local ports) that serves NAME. Refuses a model no server has."""
    reason = unusable_reason(model)
    if reason is not None:
        raise ConfigError(f"--model {shown_name(model)} cannot be saved to a config: {reason}")
    named = server_from_environment(env)
    candidates = ([named] if named is not None else []) + [Server(api_type, url) for api_type, url in DEFAULT_SERVERS]
    seen: list[str] = []
    for server in candidates:
        models = list_models(server)
        if models is None:
            seen.append(f"  {server.label}: nothing answers")
            continue
        models = usable_models(models, where=server.label)
        if model in models:
            return write_model_config(server, model, home=home), server
        seen.append(f"  {server.label}: {', '.join(models) or 'no models'}")
    raise ConfigError(
        f"no server here serves model {shown_name(model)}, so no config was written. Looked at:\n" + "\n".join(seen)
    )
