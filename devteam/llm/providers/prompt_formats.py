"""Prompt formats (seed 002's "wrappers"): chat messages → one prompt string, raw completion → the answer.

Completion endpoints (`/v1/completions`, llama.cpp's `/completion`, text-generation-webui, koboldcpp) take a
single string, and each model family was trained on its own way of marking turns. A format is two small
functions — `messages_to_prompt` and `output_to_answer` — plus its stop strings.

Where a format comes from, for `prompt_format: NAME` in the config:
- a built-in (data in `prompt_formats.yaml`, rendered by `TurnFormat`);
- a name registered with `register_prompt_format`, or by an installed package under the entry-point group
  `devteam.prompt_formats` (a class with the two methods) — the core does not change;
- `module:Class`, a class importable from the working directory or the environment;
- a path to a jinja2 chat template file (HuggingFace's `chat_template` form), rendered with `messages`,
  `add_generation_prompt=True`, `bos_token` and `eos_token`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import jinja2
import yaml
from jinja2.sandbox import ImmutableSandboxedEnvironment

from devteam.core.errors import ConfigError
from devteam.llm.providers.turn_markers import TurnMarkers
from devteam.llm.types import ChatMessage

ENTRY_POINT_GROUP = "devteam.prompt_formats"
_TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2")
KEY = "llm.prompt_format"
# What a chat template or a user's format class may raise while it runs: reported as a config error (the
# template's or the class's fault), never a traceback.
_FORMAT_FAULTS = (
    jinja2.TemplateError,
    ArithmeticError,
    LookupError,
    TypeError,
    ValueError,
    AttributeError,
    RecursionError,
)
# The conversation every format is tried on when it is chosen, so a format that cannot render ours fails at
# start-up with exit 2, not at the first call of a run.
_SAMPLE = [
    ChatMessage("system", "You write software."),
    ChatMessage("user", "Write a game."),
    ChatMessage("assistant", "{}"),
    ChatMessage("user", "Again, as JSON."),
]


@runtime_checkable
class PromptFormat(Protocol):
    """The two methods a format needs; `stop` (strings that end an answer) is optional."""

    def messages_to_prompt(self, messages: list[ChatMessage]) -> str: ...

    def output_to_answer(self, raw: str) -> str: ...


def stop_strings(prompt_format: PromptFormat) -> list[str]:
    return list(getattr(prompt_format, "stop", None) or [])


def cut_at_stop(raw: str, stop: list[str]) -> str:
    """The answer before the first stop string that the server let through, without surrounding blanks."""
    cut = len(raw)
    for marker in stop:
        index = raw.find(marker)
        if marker and index != -1:
            cut = min(cut, index)
    return raw[:cut].strip()


# -- the built-in formats: data plus one renderer -----------------------------------------------------------


@dataclass(frozen=True)
class TurnFormat:
    """A format whose turns are `prefix + content + suffix` per role (every built-in is one)."""

    name: str
    roles: dict[str, tuple[str, str]]
    generation: str
    stop: list[str] = field(default_factory=list)
    system: Literal["separate", "first_user"] = "separate"
    default_system: str = ""
    strip: bool = False
    bos: str = ""
    description: str = ""
    markers: TurnMarkers = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pieces = [text for pair in self.roles.values() for text in pair] + [self.generation, self.bos]
        object.__setattr__(self, "markers", TurnMarkers.of_format(pieces, stop=self.stop))

    def messages_to_prompt(self, messages: list[ChatMessage]) -> str:
        system = [m.content for m in messages if m.role == "system"]
        system_text = "\n\n".join(system) if system else self.default_system
        turns = [m for m in messages if m.role != "system"]
        parts: list[str] = []
        if system_text and self.system == "separate":
            parts.append(self._wrap("system", system_text))
        folded = False
        for message in turns:
            content = self._clean(message.content)
            if self.system == "first_user" and system_text and not folded and message.role == "user":
                before, after = self.roles["system"]
                content = before + self._clean(system_text) + after + content
                folded = True
            before, after = self.roles[message.role]
            parts.append(before + content + after)
        prompt = "".join(parts) + self.generation
        # The server adds the BOS token when it tokenizes; a second one at the start degrades the answer.
        if self.bos and prompt.startswith(self.bos):
            prompt = prompt[len(self.bos) :]
        return prompt

    def output_to_answer(self, raw: str) -> str:
        return self.markers.restore(cut_at_stop(raw, self.stop))

    def _wrap(self, role: str, content: str) -> str:
        before, after = self.roles[role]
        return before + self._clean(content) + after

    def _clean(self, content: str) -> str:
        """A message's text as it goes between the markers: none of the format's markers left in it."""
        content = self.markers.neutralise(content)
        return content.strip() if self.strip else content


@lru_cache(maxsize=1)
def builtin_formats() -> dict[str, TurnFormat]:
    text = resources.files("devteam.llm.providers").joinpath("prompt_formats.yaml").read_text(encoding="utf-8")
    formats = {}
    for name, entry in yaml.safe_load(text).items():
        roles = {role: (pair[0], pair[1]) for role, pair in entry.pop("roles").items()}
        formats[name] = TurnFormat(name=name, roles=roles, **entry)
    return formats


# -- a jinja2 chat template file --------------------------------------------------------------------------


class ChatTemplateFormat:
    """A HuggingFace-style jinja2 chat template (the `chat_template` of a model's tokenizer_config.json)."""

    def __init__(
        self,
        source: str,
        *,
        stop: list[str] | None = None,
        bos_token: str = "",
        eos_token: str = "",
        name: str = "chat template",
    ) -> None:
        # Sandboxed, with the whitespace settings transformers uses, so a template renders the same here.
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise_template_error
        try:
            self._template = env.from_string(source)
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(
                f"prompt_format {name}: jinja2 syntax error on line {exc.lineno}: {exc.message}"
            ) from None
        self.name = name
        self.stop = list(stop or ([eos_token] if eos_token else []))
        self._tokens = {"bos_token": bos_token, "eos_token": eos_token}
        self.markers = TurnMarkers.of_format([bos_token, eos_token], stop=self.stop, source=source)

    @classmethod
    def from_file(cls, path: Path, **options: Any) -> ChatTemplateFormat:
        try:
            source = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"{KEY} {path}: the chat template is not UTF-8 text (byte {exc.start}); save it as UTF-8"
            ) from None
        except OSError as exc:
            raise ConfigError(f"{KEY} {path}: cannot read the chat template ({exc.strerror})") from None
        return cls(source, name=str(path), **options)

    def messages_to_prompt(self, messages: list[ChatMessage]) -> str:
        """The template rendered over the messages, each one's text with the template's markers neutralised."""
        shown = [{**m.as_dict(), "content": self.markers.neutralise(m.content)} for m in messages]
        try:
            return self._template.render(messages=shown, add_generation_prompt=True, **self._tokens)
        except _FORMAT_FAULTS as exc:
            raise ConfigError(
                f"{KEY} {self.name}: the chat template failed while rendering ({type(exc).__name__}: {exc}); "
                "fix the template, or use a built-in format"
            ) from None

    def output_to_answer(self, raw: str) -> str:
        return self.markers.restore(cut_at_stop(raw, self.stop))


def _raise_template_error(message: str) -> None:
    raise jinja2.TemplateError(message)


# -- user formats by name ---------------------------------------------------------------------------------

FormatFactory = Callable[[], PromptFormat]
_REGISTERED: dict[str, FormatFactory] = {}


def register_prompt_format(name: str, factory: FormatFactory) -> None:
    """Make `prompt_format: NAME` build `factory()` (a class with the two methods is a factory)."""
    _REGISTERED[name.casefold()] = factory


def known_names() -> list[str]:
    names = set(builtin_formats()) | set(_REGISTERED)
    names |= {entry.name.casefold() for entry in metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names)


def resolve_prompt_format(spec: str, *, stop: list[str] | None = None, base_dir: Path | None = None) -> PromptFormat:
    """The format `prompt_format: spec` names; `stop` (config `llm.stop`) replaces a format's own stop list.

    Raises ConfigError naming the known formats when nothing matches.
    """
    chosen = _lookup(spec, base_dir=base_dir, stop=stop)
    if stop and isinstance(chosen, TurnFormat):
        chosen = replace(chosen, stop=list(stop))
    if not isinstance(chosen, PromptFormat):
        raise ConfigError(
            f"prompt_format {spec}: {type(chosen).__name__} lacks messages_to_prompt(messages) and "
            "output_to_answer(raw); a format needs both"
        )
    if stop and not isinstance(chosen, (TurnFormat, ChatTemplateFormat)):
        try:
            chosen.stop = list(stop)  # type: ignore[attr-defined]
        except AttributeError:
            pass
    _try_out(spec, chosen)
    return chosen


def _try_out(spec: str, chosen: PromptFormat) -> None:
    """Run the format once on a sample conversation: a template or a class that fails on ours is a config
    error now, naming the key and the fix, not a traceback at the first call of a run."""
    try:
        prompt = chosen.messages_to_prompt(_SAMPLE)
        answer = chosen.output_to_answer("{}")
    except ConfigError:
        raise
    except _FORMAT_FAULTS as exc:
        raise ConfigError(
            f"{KEY} {spec}: the format failed on a sample conversation ({type(exc).__name__}: {exc}); "
            "fix it, or use a built-in format"
        ) from None
    if not isinstance(prompt, str) or not isinstance(answer, str):
        raise ConfigError(f"{KEY} {spec}: messages_to_prompt and output_to_answer must return text (str)")


def _lookup(spec: str, *, base_dir: Path | None, stop: list[str] | None) -> Any:
    key = spec.strip().casefold()
    builtins = builtin_formats()
    if key in builtins:
        return builtins[key]
    if key in _REGISTERED:
        return _built(spec, lambda: _REGISTERED[key])
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name.casefold() == key:
            return _built(spec, entry.load)
    path = Path(spec).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if spec.endswith(_TEMPLATE_SUFFIXES) or path.is_file():
        if not path.is_file():
            raise ConfigError(f"prompt_format {spec}: no such chat template file ({path})")
        return ChatTemplateFormat.from_file(path, stop=stop)
    if ":" in spec:
        return _built(spec, lambda: _import_class(spec))
    known = ", ".join(known_names())
    raise ConfigError(
        f"prompt_format {spec!r} is not known; use one of {known}, a jinja2 chat template file (.j2), "
        "or module:Class for your own format"
    )


def _import_class(spec: str) -> Callable[[], Any]:
    module_name, _, attribute = spec.partition(":")
    # A format module next to the user's config is the common case: the working directory is searched too.
    added = "" not in sys.path and "." not in sys.path
    if added:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"prompt_format {spec}: cannot import module {module_name!r} ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - the user's module may raise anything while it is imported
        raise ConfigError(
            f"{KEY} {spec}: importing module {module_name!r} failed ({type(exc).__name__}: {exc}); "
            f"fix {module_name}, or use a built-in format"
        ) from None
    finally:
        if added:
            sys.path.remove("")
    factory = getattr(module, attribute, None)
    if factory is None:
        raise ConfigError(f"prompt_format {spec}: module {module_name!r} has no {attribute!r}")
    return factory


def _built(spec: str, load: Callable[[], Callable[[], Any]]) -> Any:
    """A user's format class, loaded and instantiated; whatever its code raises is a ConfigError."""
    try:
        return load()()
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything when it is loaded or made
        raise ConfigError(
            f"{KEY} {spec}: loading the format failed ({type(exc).__name__}: {exc}); fix its code, or use a "
            "built-in format"
        ) from None
