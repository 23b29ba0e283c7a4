"""A completion-endpoint server: OpenAI's `/v1/completions` and llama.cpp's native `/completion`.

One scripted server answers both, as llama-server does; `/tokenize` and `/props` answer like llama.cpp's
(a token per whitespace-separated word, so tests can tell a real count from a characters/4 estimate).
"""

from __future__ import annotations

import time
from typing import Any

from .base import Error, RecordedRequest, Reply, ScriptedServer, Text, Wire
from .openai_server import error_body


def word_tokens(text: str) -> list[int]:
    return [len(word) for word in text.split()]


class CompletionsServer(ScriptedServer):
    """`POST /v1/completions`, `POST /completion`, `POST /tokenize`, `GET /props`, `GET /v1/models`."""

    chat_path = "/completion"
    openai_path = "/v1/completions"

    def __init__(self, *, context_length: int = 4096, **options: Any) -> None:
        super().__init__(**options)
        self.context_length = context_length

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    @property
    def prompt_requests(self) -> list[RecordedRequest]:
        """Requests to either completion endpoint, in order."""
        return [r for r in self.requests if r.path in (self.chat_path, self.openai_path)]

    def route(self, request: RecordedRequest, wire: Wire) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        if request.method == "POST" and request.path in (self.chat_path, self.openai_path):
            native = request.path == self.chat_path
            self.serve_chat(request, wire, lambda reply, out: self._answer(reply, body, out, native=native))
        elif request.method == "POST" and request.path == "/tokenize":
            wire.send_json(200, {"tokens": word_tokens(str(body.get("content", "")))})
        elif request.method == "GET" and request.path == "/props":
            settings = {"n_ctx": self.context_length}
            wire.send_json(200, {"default_generation_settings": settings, "model_path": f"/models/{self.models[0]}"})
        elif request.method == "GET" and request.path == "/v1/models":
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.models]
            wire.send_json(200, {"object": "list", "data": data})
        else:
            wire.send_json(404, error_body(404, f"no route {request.method} {request.path}"))

    def _answer(self, reply: Reply, body: dict[str, Any], wire: Wire, *, native: bool) -> None:
        if isinstance(reply, Error):
            payload = reply.body if reply.body is not None else error_body(reply.status, reply.message)
            wire.send_json(reply.status, payload, headers=reply.headers)
            return
        if not isinstance(reply, Text):
            wire.send_json(500, error_body(500, f"fake completions server cannot play {type(reply).__name__}"))
            return
        prompt_tokens = len(word_tokens(str(body.get("prompt", ""))))
        completion_tokens = len(word_tokens(reply.content))
        if reply.usage is not None:
            prompt_tokens, completion_tokens = reply.usage
        model = str(body.get("model") or self.models[0])
        if native:
            answer: dict[str, Any] = {
                "content": reply.content,
                "model": model,
                "stop": True,
                "stop_type": "limit" if reply.finish_reason == "length" else "eos",
                "tokens_evaluated": prompt_tokens,
                "tokens_predicted": completion_tokens,
            }
            if reply.timings is not None:
                answer["timings"] = reply.timings  # llama-server's own figures, cache_n among them
            wire.send_json(200, answer)
            return
        wire.send_json(
            200,
            {
                "id": "cmpl-fake",
                "object": "text_completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "text": reply.content, "finish_reason": reply.finish_reason, "logprobs": None}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        )
