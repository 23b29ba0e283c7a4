"""`api_type: llama_cpp`: a `.gguf` model in this process through llama-cpp-python (no server to run).

The GGUF file carries the model's chat template, used by `create_chat_completion`; with `prompt_format:` the
prompt is built here and sent to `create_completion`. JSON is constrained by llama.cpp's grammar made from the
schema either way. Generation runs in a worker thread, one at a time (a `Llama` object is not thread-safe).
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import importlib
import json
import threading
import time
from pathlib import Path
from typing import Any

from devteam.core.errors import ConfigError, ProviderError
from devteam.llm.extras import require
from devteam.llm.grammar_bounds import schema_for_grammar
from devteam.llm.providers.prompt_formats import PromptFormat, stop_strings
from devteam.llm.types import Capabilities, ChatRequest, ChatResponse, TokenCount, Usage
from devteam.llm.usage import estimate_tokens

PURPOSE = "api_type llama_cpp"
DEFAULT_MAX_TOKENS = 1024


@functools.cache
def _close_null_files_at_exit() -> None:
    """llama-cpp-python opens /dev/null twice when it is imported (`llama_cpp._utils.outnull_file` and
    `errnull_file`, where its `suppress_stdout_stderr` points the C library's output while a model loads) and
    never closes them: every process that loads a model in process ends with two "ResourceWarning: unclosed file
    <... name='/dev/null'>" lines. They are the library's to close, so we close them when the interpreter exits:
    by then no model is loading, and freeing one (`Llama.close`, `__del__`) does not use them. Registered once."""
    try:
        utils = importlib.import_module("llama_cpp._utils")
    except ImportError:
        return
    files = [getattr(utils, name, None) for name in ("outnull_file", "errnull_file")]
    atexit.register(_close_all, [file for file in files if hasattr(file, "close")])


def _close_all(files: list[Any]) -> None:
    for file in files:
        file.close()


class LlamaCppProvider:
    """A `llama_cpp.Llama` over the configured `.gguf`, loaded on first use."""

    name = "llama_cpp"
    capabilities = Capabilities(json_schema=True, json_object=True)

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
        self._llama_cpp = require("llama_cpp", extra="llama-cpp", purpose=PURPOSE)
        _close_null_files_at_exit()
        self.path = Path(model).expanduser()
        self.model = self.path.stem
        self._configured_context = context_length
        self._defaults = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        # The GGUF carries the model's chat template, so a preset's format (fallback_format) is not needed here.
        self._prompt_format = prompt_format
        self._stop = list(stop or (stop_strings(prompt_format) if prompt_format else []))
        self._load_lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._llama: Any = None

    async def context_window(self) -> int | None:
        """The configured `context_length`, else the window stored in the GGUF (what llama.cpp loaded)."""
        llama = await asyncio.to_thread(self._load)
        return int(llama.n_ctx())

    async def count_tokens(self, text: str) -> TokenCount:
        """Counted by the GGUF's own tokenizer: exact."""
        llama = await asyncio.to_thread(self._load)
        return TokenCount(len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)), exact=True)

    def describe(self) -> str:
        return f"llama_cpp {self.path} (in process)"

    async def list_models(self) -> list[str]:
        return [self.model]

    async def aclose(self) -> None:
        llama, self._llama = self._llama, None
        if llama is not None and hasattr(llama, "close"):
            llama.close()

    def _load(self) -> Any:
        with self._load_lock:
            if self._llama is not None:
                return self._llama
            if not self.path.is_file():
                raise ConfigError(f"llm.model {str(self.path)!r} is not a file; give the path of a .gguf model")
            try:
                # n_ctx 0 means "the context length stored in the GGUF".
                self._llama = self._llama_cpp.Llama(
                    model_path=str(self.path),
                    n_ctx=self._configured_context or 0,
                    verbose=False,
                    seed=self._defaults["seed"] if self._defaults["seed"] is not None else -1,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise ConfigError(f"llm.model {str(self.path)!r}: llama.cpp cannot load it ({exc})") from None
            return self._llama

    async def complete(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        result, prompt = await asyncio.to_thread(self._generate, request)
        choice = (result.get("choices") or [{}])[0]
        raw = (choice.get("message") or {}).get("content") if "message" in choice else choice.get("text")
        raw = raw or ""
        text = self._prompt_format.output_to_answer(raw) if self._prompt_format else raw
        usage = result.get("usage") or {}
        return ChatResponse(
            text=text,
            finish_reason=choice.get("finish_reason"),
            usage=Usage(
                prompt_tokens=usage.get("prompt_tokens") or estimate_tokens(prompt),
                completion_tokens=usage.get("completion_tokens") or 0,
                estimated="prompt_tokens" not in usage,
            ),
            model=self.model,
            native_schema=request.output_mode == "json_schema" and request.json_schema is not None,
            latency_s=time.perf_counter() - started,
        )

    def _generate(self, request: ChatRequest) -> tuple[dict[str, Any], str]:
        llama = self._load()
        options: dict[str, Any] = {
            "max_tokens": request.max_tokens or self._defaults["max_tokens"] or DEFAULT_MAX_TOKENS,
            "temperature": request.temperature
            if request.temperature is not None
            else (self._defaults["temperature"] or 0.0),
        }
        if self._stop:
            options["stop"] = self._stop
        if request.frequency_penalty is not None:
            options["frequency_penalty"] = request.frequency_penalty
        schema = schema_for_grammar(request, options["max_tokens"]) if request.output_mode == "json_schema" else None
        with self._generate_lock:
            try:
                if self._prompt_format is not None:
                    prompt = self._prompt_format.messages_to_prompt(request.messages)
                    if schema is not None:
                        options["grammar"] = self._llama_cpp.LlamaGrammar.from_json_schema(
                            json.dumps(schema), verbose=False
                        )
                    return llama.create_completion(prompt, **options), prompt
                messages = [m.as_dict() for m in request.messages]
                if schema is not None:
                    options["response_format"] = {"type": "json_object", "schema": schema}
                elif request.output_mode == "json_object":
                    options["response_format"] = {"type": "json_object"}
                prompt = "\n".join(m["content"] for m in messages)
                return llama.create_chat_completion(messages=messages, **options), prompt
            except (ValueError, RuntimeError) as exc:
                raise ProviderError(f"{self.describe()}: generation failed ({exc})") from exc
