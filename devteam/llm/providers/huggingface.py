"""`api_type: huggingface`: a transformers model in this process (seed 004: "from HuggingFace hub or a local file").

`model:` is a hub id or a local folder. The prompt comes from the tokenizer's own chat template, or from
`prompt_format:` when the model has none. Loading and generation run in a worker thread so the event loop (and
the concurrent file writers) keep going; one lock lets one generation use the model at a time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

from devteam.core.errors import ConfigError, ProviderError
from devteam.llm.extras import require
from devteam.llm.providers.prompt_formats import PromptFormat, cut_at_stop, stop_strings
from devteam.llm.types import Capabilities, ChatRequest, ChatResponse, TokenCount, Usage

PURPOSE = "api_type huggingface"
DEFAULT_MAX_TOKENS = 1024


class HuggingFaceProvider:
    """A causal LM and its tokenizer from `from_pretrained`, loaded on first use."""

    name = "huggingface"
    # No constrained decoding here: JSON is asked for in the prompt and repaired by the ladder.
    capabilities = Capabilities()

    def __init__(
        self,
        *,
        model: str,
        context_length: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        seed: int | None = None,
        prompt_format: PromptFormat | None = None,
        fallback_format: PromptFormat | None = None,
        stop: list[str] | None = None,
    ) -> None:
        self._transformers = require("transformers", extra="hf", purpose=PURPOSE)
        self._torch = require("torch", extra="hf", purpose=PURPOSE)
        self.model = model
        self._configured_context = context_length
        self._defaults = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        self._prompt_format = prompt_format
        # A preset's format, for a model whose tokenizer has no chat template.
        self._fallback_format = fallback_format
        self._stop = list(stop or (stop_strings(prompt_format) if prompt_format else []))
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._tokenizer: Any = None
        self._lm: Any = None

    # -- the seeds' LanguageBackend attributes --------------------------------------------------------------

    async def context_window(self) -> int | None:
        """The configured `context_length`, else the window in the model's config (its position embeddings)."""
        if self._configured_context:
            return self._configured_context
        await asyncio.to_thread(self._load)
        for name in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(self._lm.config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return None

    async def count_tokens(self, text: str) -> TokenCount:
        """Counted by the model's own tokenizer: exact."""
        await asyncio.to_thread(self._load)
        return TokenCount(len(self._tokenizer.encode(text, add_special_tokens=False)), exact=True)

    def describe(self) -> str:
        return f"huggingface {self.model} (in process)"

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        return None

    # -- loading ----------------------------------------------------------------------------------------------

    def _load(self) -> None:
        with self._load_lock:
            if self._lm is not None:
                return
            if _looks_like_path(self.model) and not Path(self.model).expanduser().is_dir():
                raise ConfigError(f"llm.model {self.model!r} is not a folder; give a local model folder or a hub id")
            source = str(Path(self.model).expanduser()) if _looks_like_path(self.model) else self.model
            # The run prints its own progress; transformers' bars would interleave with it on the terminal.
            self._transformers.utils.logging.disable_progress_bar()
            try:
                tokenizer = self._transformers.AutoTokenizer.from_pretrained(source)
                lm = self._transformers.AutoModelForCausalLM.from_pretrained(source)
            except (OSError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ConfigError(f"llm.model {self.model!r}: transformers cannot load it ({first})") from None
            lm.eval()
            if self._prompt_format is None and not getattr(tokenizer, "chat_template", None):
                self._prompt_format = self._fallback_format
            if self._prompt_format is None and not getattr(tokenizer, "chat_template", None):
                raise ConfigError(f"llm.model {self.model!r} has no chat template; set llm.prompt_format (e.g. chatml)")
            self._tokenizer, self._lm = tokenizer, lm

    # -- generation -------------------------------------------------------------------------------------------

    async def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        text, finish, usage = await asyncio.to_thread(self._generate, request)
        return ChatResponse(
            text=text, finish_reason=finish, usage=usage, model=self.model, latency_s=time.perf_counter() - started
        )

    def prompt_for(self, request: ChatRequest) -> str:
        self._load()
        if self._prompt_format is not None:
            return self._prompt_format.messages_to_prompt(request.messages)
        messages = [m.as_dict() for m in request.messages]
        return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _generate(self, request: ChatRequest) -> tuple[str, str, Usage]:
        prompt = self.prompt_for(request)
        tokenizer, torch = self._tokenizer, self._torch
        # The template already holds any BOS the model wants; adding special tokens again would double it.
        inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        limit = request.max_tokens or self._defaults["max_tokens"] or DEFAULT_MAX_TOKENS
        temperature = request.temperature if request.temperature is not None else self._defaults["temperature"]
        options: dict[str, Any] = {"max_new_tokens": limit, "do_sample": bool(temperature)}
        if temperature:
            options["temperature"] = temperature
        if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
            options["pad_token_id"] = tokenizer.eos_token_id
        with self._generate_lock:
            if self._defaults["seed"] is not None:
                torch.manual_seed(self._defaults["seed"])
            try:
                with torch.no_grad():
                    output = self._lm.generate(**inputs, **options)
            except (RuntimeError, ValueError) as exc:
                raise ProviderError(f"{self.describe()}: generation failed ({exc})") from exc
        prompt_length = inputs["input_ids"].shape[1]
        new_tokens = output[0][prompt_length:]
        raw = tokenizer.decode(new_tokens, skip_special_tokens=True)
        ended = len(new_tokens) and int(new_tokens[-1]) == tokenizer.eos_token_id
        finish = "length" if len(new_tokens) >= limit and not ended else "stop"
        # Stop strings are applied to the text, not inside generate: transformers' stop_strings cannot match on
        # every tokenizer (word-level ones fail), while the model's own end-of-turn token stops it anyway.
        text = self._prompt_format.output_to_answer(raw) if self._prompt_format else cut_at_stop(raw, self._stop)
        return text, finish, Usage(prompt_tokens=int(prompt_length), completion_tokens=len(new_tokens))


def _looks_like_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or Path(model).expanduser().exists()
