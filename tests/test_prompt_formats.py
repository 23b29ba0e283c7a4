"""Prompt formats: each built-in against its published template, user formats, and the answer's way back."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import ClassVar

import pytest

from devteam.core.errors import ConfigError
from devteam.llm.providers.prompt_formats import (
    ChatTemplateFormat,
    builtin_formats,
    register_prompt_format,
    resolve_prompt_format,
)
from devteam.llm.types import ChatMessage

SYSTEM, FIRST, ANSWER, SECOND = "You are a poet.", "Hello!", "Hi! What shall I write?", "A haiku about rain."
CONVERSATION = [
    ChatMessage("system", SYSTEM),
    ChatMessage("user", FIRST),
    ChatMessage("assistant", ANSWER),
    ChatMessage("user", SECOND),
]

# The prompt each model's published template gives for CONVERSATION (with add_generation_prompt), written out
# by hand from the source named beside it. A leading BOS token is left out: the server adds it.
PUBLISHED = {
    # Qwen2.5-Instruct / OpenHermes tokenizer_config.json chat_template
    "chatml": (
        "<|im_start|>system\nYou are a poet.<|im_end|>\n"
        "<|im_start|>user\nHello!<|im_end|>\n"
        "<|im_start|>assistant\nHi! What shall I write?<|im_end|>\n"
        "<|im_start|>user\nA haiku about rain.<|im_end|>\n"
        "<|im_start|>assistant\n"
    ),
    # meta-llama/llama generation.py chat_completion: B_SYS/E_SYS in the first turn, BOS/EOS around each pair
    "llama2": (
        "[INST] <<SYS>>\nYou are a poet.\n<</SYS>>\n\nHello! [/INST] Hi! What shall I write? </s>"
        "<s>[INST] A haiku about rain. [/INST]"
    ),
    # Meta-Llama-3-8B-Instruct chat_template
    "llama3": (
        "<|start_header_id|>system<|end_header_id|>\n\nYou are a poet.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nHello!<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\nHi! What shall I write?<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\nA haiku about rain.<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
    ),
    # text-generation-webui instruction-templates/Alpaca.yaml
    "alpaca": (
        "You are a poet.\n\n"
        "### Instruction:\nHello!\n\n"
        "### Response:\nHi! What shall I write?\n\n"
        "### Instruction:\nA haiku about rain.\n\n"
        "### Response:\n"
    ),
    # FastChat conversation.py "vicuna_v1.1" (SeparatorStyle.ADD_COLON_TWO, sep " ", sep2 "</s>")
    "vicuna": "You are a poet. USER: Hello! ASSISTANT: Hi! What shall I write?</s>USER: A haiku about rain. ASSISTANT:",
    # Mistral-7B-Instruct-v0.1 chat_template (no system role: its text leads the first user turn)
    "mistral": "[INST] You are a poet.\n\nHello! [/INST]Hi! What shall I write?</s>[INST] A haiku about rain. [/INST]",
    # HuggingFaceH4/zephyr-7b-beta chat_template
    "zephyr": (
        "<|system|>\nYou are a poet.</s>\n<|user|>\nHello!</s>\n"
        "<|assistant|>\nHi! What shall I write?</s>\n<|user|>\nA haiku about rain.</s>\n<|assistant|>\n"
    ),
    # jondurbin/airoboros-l2-70b-2.1 model card, "Prompt format"
    "airoboros": "You are a poet.\nUSER: Hello!\nASSISTANT: Hi! What shall I write?\nUSER: A haiku about rain.\nASSISTANT:",
    # google/gemma-3 chat_template (the system text leads the first user turn) / gemma-2 for the turns
    "gemma": (
        "<start_of_turn>user\nYou are a poet.\n\nHello!<end_of_turn>\n"
        "<start_of_turn>model\nHi! What shall I write?<end_of_turn>\n"
        "<start_of_turn>user\nA haiku about rain.<end_of_turn>\n"
        "<start_of_turn>model\n"
    ),
    # microsoft/Phi-3.5-mini-instruct chat_template
    "phi3": (
        "<|system|>\nYou are a poet.<|end|>\n<|user|>\nHello!<|end|>\n"
        "<|assistant|>\nHi! What shall I write?<|end|>\n<|user|>\nA haiku about rain.<|end|>\n<|assistant|>\n"
    ),
}


def test_every_builtin_has_a_published_prompt_to_match() -> None:
    assert set(builtin_formats()) == set(PUBLISHED)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_builtin_format_matches_its_published_template(name: str) -> None:
    assert resolve_prompt_format(name).messages_to_prompt(CONVERSATION) == PUBLISHED[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_answer_is_cut_at_the_formats_own_end_of_turn(name: str) -> None:
    fmt = builtin_formats()[name]
    raw = f" Rain taps the window{fmt.stop[0]}{fmt.roles['user'][0]}and more"
    assert fmt.output_to_answer(raw) == "Rain taps the window"


@pytest.mark.parametrize(
    ("name", "default"), [("alpaca", "Below is an instruction"), ("vicuna", "A chat between"), ("airoboros", "A chat.")]
)
def test_formats_with_a_trained_system_prompt_use_it_when_none_is_given(name: str, default: str) -> None:
    prompt = resolve_prompt_format(name).messages_to_prompt([ChatMessage("user", "Hi")])
    assert prompt.startswith(default)


def test_lookup_ignores_case_and_config_stop_list_replaces_the_formats() -> None:
    fmt = resolve_prompt_format("ChatML", stop=["<END>"])
    assert fmt.stop == ["<END>"]  # type: ignore[attr-defined]
    assert fmt.output_to_answer("answer<END><|im_end|>") == "answer"


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(ConfigError) as error:
        resolve_prompt_format("chatmll")
    message = str(error.value)
    assert "'chatmll' is not known" in message and "chatml" in message and "module:Class" in message


# -- user formats ---------------------------------------------------------------------------------------------

# The chat_template of teknium/OpenHermes-2.5-Mistral-7B, verbatim (a tokenizer_config.json value).
CHATML_JINJA = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


def test_jinja_chat_template_file_renders_like_transformers(tmp_path: Path) -> None:
    path = tmp_path / "chatml.j2"
    path.write_text(CHATML_JINJA, encoding="utf-8")
    fmt = resolve_prompt_format(str(path), stop=["<|im_end|>"])
    assert fmt.messages_to_prompt(CONVERSATION) == PUBLISHED["chatml"]
    assert fmt.output_to_answer("drops fall<|im_end|>\n<|im_start|>user") == "drops fall"


def test_jinja_template_errors_are_config_errors(tmp_path: Path) -> None:
    broken = tmp_path / "broken.j2"
    broken.write_text("{% for m in messages %}", encoding="utf-8")
    with pytest.raises(ConfigError, match="jinja2 syntax error"):
        resolve_prompt_format(str(broken))
    raising = ChatTemplateFormat("{{ raise_exception('System role not supported') }}", name="strict.j2")
    with pytest.raises(ConfigError, match="System role not supported"):
        raising.messages_to_prompt(CONVERSATION)
    with pytest.raises(ConfigError, match="no such chat template file"):
        resolve_prompt_format(str(tmp_path / "missing.j2"))


class ShoutFormat:
    """A user's own format: the seed's two methods and nothing else."""

    stop: ClassVar[list[str]] = ["###"]

    def messages_to_prompt(self, messages: list[ChatMessage]) -> str:
        return "".join(f"{m.role.upper()}: {m.content}\n" for m in messages) + "BOT:"

    def output_to_answer(self, raw: str) -> str:
        return raw.split("###")[0].strip().lower()


def test_a_registered_class_is_used_by_name() -> None:
    register_prompt_format("shout", ShoutFormat)
    fmt = resolve_prompt_format("SHOUT")
    assert fmt.messages_to_prompt([ChatMessage("user", "hi")]) == "USER: hi\nBOT:"
    assert fmt.output_to_answer(" HELLO ### USER:") == "hello"


def test_module_colon_class_imports_a_users_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_formats.py").write_text(
        textwrap.dedent("""\
        class Plain:
            def messages_to_prompt(self, messages):
                return " | ".join(m.content for m in messages)

            def output_to_answer(self, raw):
                return raw.strip()


        class Half:
            def messages_to_prompt(self, messages):
                return ""
        """),
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        fmt = resolve_prompt_format("my_formats:Plain")
        assert fmt.messages_to_prompt(CONVERSATION[:2]) == "You are a poet. | Hello!"
        with pytest.raises(ConfigError, match="lacks messages_to_prompt"):
            resolve_prompt_format("my_formats:Half")
        with pytest.raises(ConfigError, match="has no 'Nope'"):
            resolve_prompt_format("my_formats:Nope")
        with pytest.raises(ConfigError, match="cannot import module"):
            resolve_prompt_format("no_such_module_here:Plain")
    finally:
        sys.modules.pop("my_formats", None)
