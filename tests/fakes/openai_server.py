"""An OpenAI-compatible chat server (the shape vLLM, llama.cpp and LM Studio serve), scripted by tests."""

from __future__ import annotations

import json
import time
from http import HTTPStatus
from typing import Any

from .base import CutStream, Error, ErrorLine, RecordedRequest, Reply, ScriptedServer, Text, Wire, split_content

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
}


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """OpenAI's error envelope."""
    text = message or HTTPStatus(status).phrase
    return {"error": {"message": text, "type": _ERROR_TYPES.get(status, "server_error"), "code": str(status)}}


def _usage(usage: tuple[int, int], cached: int | None = None) -> dict[str, Any]:
    prompt, completion = usage
    body: dict[str, Any] = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    if cached is not None:
        body["prompt_tokens_details"] = {"cached_tokens": cached}
    return body


def completion_body(reply: Text, *, model: str) -> dict[str, Any]:
    """The non-streaming answer; reasoning goes in `reasoning_content` as llama.cpp and LM Studio do."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.content}
    if reply.reasoning is not None:
        message["reasoning_content"] = reply.reasoning
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
    }
    if reply.usage is not None:
        body["usage"] = _usage(reply.usage, reply.cached_tokens)
    if reply.timings is not None:
        body["timings"] = reply.timings
    return body


def _chunk(model: str, delta: dict[str, Any] | None, finish_reason: str | None = None) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    envelope = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 0, "model": model}
    return {**envelope, "choices": choices}


def content_chunks(
    content: str, *, model: str, reasoning: str | None = None, pieces: list[str] | None = None
) -> list[dict[str, Any]]:
    """The role chunk, the reasoning deltas, then the content deltas (no finish yet)."""
    parts = pieces if pieces is not None else split_content(content)
    chunks = [_chunk(model, {"role": "assistant", "content": ""})]
    chunks += [_chunk(model, {"reasoning_content": part}) for part in split_content(reasoning or "")]
    chunks += [_chunk(model, {"content": part}) for part in parts]
    return chunks


def stream_events(reply: Text, *, model: str, include_usage: bool) -> list[dict[str, Any]]:
    """Every `data:` event of a streamed answer, before `[DONE]`."""
    events = content_chunks(reply.content, model=model, reasoning=reply.reasoning, pieces=reply.chunks)
    if reply.finish_reason is not None:
        events.append(_chunk(model, {}, reply.finish_reason))
    if include_usage and reply.usage is not None:
        last = {**_chunk(model, None), "usage": _usage(reply.usage, reply.cached_tokens)}
        if reply.timings is not None:
            last["timings"] = reply.timings  # llama.cpp's server sends its timings with the last chunk
        events.append(last)
    return events


def _sse(event: dict[str, Any] | str) -> bytes:
    data = event if isinstance(event, str) else json.dumps(event)
    return f"data: {data}\n\n".encode()


def fake_tokens(text: str) -> list[int]:
    """The fakes' tokenizer: one token per three characters (denser than the 4-character estimate, as code is)."""
    return list(range(-(-len(text) // 3)))


# What llama-cpp-python's server (FastAPI + pydantic, errors wrapped as HTTP 500) says to a response_format it
# does not know: its `ResponseFormat.type` is Literal["text", "json_object"].
LLAMA_CPP_PYTHON_REJECTION = (
    "[{'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
    "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}]"
)


class OpenAIServer(ScriptedServer):
    """`POST /v1/chat/completions` (JSON or SSE) and `GET /v1/models`; optionally the limits endpoints:
    llama.cpp's `GET /props` (`n_ctx`, `total_slots`) and `POST /tokenize` (`tokenize`), vLLM's `max_model_len`.

    `flavour="llama-cpp-python"` answers like that server: a `response_format` whose type is not `text` or
    `json_object` is refused with its HTTP 500 (before any scripted reply is used); `json_object` with a
    `schema` is accepted (there, the schema becomes the grammar).
    """

    chat_path = "/v1/chat/completions"
    stream_content_type = "text/event-stream"

    def __init__(
        self,
        *,
        n_ctx: int | None = None,
        max_model_len: int | None = None,
        tokenize: bool = False,
        flavour: str = "openai",
        total_slots: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.n_ctx = n_ctx
        self.total_slots = total_slots
        self.max_model_len = max_model_len
        self.tokenize = tokenize
        self.flavour = flavour

    def refusal(self, request: RecordedRequest) -> Error | None:
        """The error this server flavour gives a request it cannot take, before the script is consulted."""
        body = request.json if isinstance(request.json, dict) else {}
        response_format = body.get("response_format")
        if self.flavour == "llama-cpp-python" and isinstance(response_format, dict):
            if response_format.get("type") not in ("text", "json_object"):
                return Error(
                    500,
                    body={
                        "error": {
                            "message": LLAMA_CPP_PYTHON_REJECTION,
                            "type": "internal_server_error",
                            "param": None,
                            "code": None,
                        }
                    },
                )
        return None

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def route(self, request: RecordedRequest, wire: Wire) -> None:
        if request.method == "POST" and request.path == self.chat_path:
            refusal = self.refusal(request)
            if refusal is not None:
                self._answer(request, refusal, wire)
            else:
                self.serve_chat(request, wire, lambda reply, out: self._answer(request, reply, out))
        elif request.method == "GET" and request.path == "/v1/models":
            data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in self.models]
            if self.max_model_len is not None:
                data = [{**entry, "max_model_len": self.max_model_len} for entry in data]
            wire.send_json(200, {"object": "list", "data": data})
        elif request.method == "GET" and request.path == "/props" and (self.n_ctx or self.total_slots) is not None:
            props: dict[str, Any] = {"total_slots": self.total_slots or 1}
            if self.n_ctx is not None:
                props["default_generation_settings"] = {"n_ctx": self.n_ctx}
            wire.send_json(200, props)
        elif request.method == "POST" and request.path == "/tokenize" and self.tokenize:
            body = request.json if isinstance(request.json, dict) else {}
            wire.send_json(200, {"tokens": fake_tokens(str(body.get("content", "")))})
        else:
            wire.send_json(404, error_body(404, f"no route {request.method} {request.path}"))

    def loop_piece(self, unit: str, request: RecordedRequest) -> bytes:
        body = request.json if isinstance(request.json, dict) else {}
        return _sse(_chunk(str(body.get("model", "")), {"content": unit}))

    def _answer(self, request: RecordedRequest, reply: Reply, wire: Wire) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        model = str(body.get("model", ""))
        streaming = bool(body.get("stream"))
        if isinstance(reply, Error):
            payload = reply.body if reply.body is not None else error_body(reply.status, reply.message)
            wire.send_json(reply.status, payload, headers=reply.headers)
        elif isinstance(reply, Text) and streaming:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(wire, stream_events(reply, model=model, include_usage=include_usage), done=True)
        elif isinstance(reply, Text):
            wire.send_json(200, completion_body(reply, model=model))
        elif isinstance(reply, CutStream) and streaming:
            self._stream(wire, content_chunks(reply.content_before_cut, model=model), done=False)
        elif isinstance(reply, CutStream):
            whole = Text(reply.content_before_cut + " and the rest")
            full = json.dumps(completion_body(whole, model=model)).encode()
            wire.send_truncated(200, full, content_type="application/json", keep=len(full) // 2)
        elif isinstance(reply, ErrorLine) and streaming:
            events: list[dict[str, Any]] = content_chunks("partial", model=model)
            events.append(error_body(500, reply.message))
            self._stream(wire, events, done=True)
        elif isinstance(reply, ErrorLine):
            wire.send_json(500, error_body(500, reply.message))

    @staticmethod
    def _stream(wire: Wire, events: list[dict[str, Any]], *, done: bool) -> None:
        """SSE over chunked encoding; without `done` the connection drops mid-body (no [DONE], no last chunk)."""
        wire.start_stream("text/event-stream")
        for event in events:
            wire.stream_chunk(_sse(event))
        if done:
            wire.stream_chunk(_sse("[DONE]"))
            wire.end_stream()
