"""ollama's native API (`/api/chat` with NDJSON streaming, `/api/tags`), scripted by tests."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from .base import CutStream, Error, ErrorLine, RecordedRequest, Reply, ScriptedServer, Text, Wire, split_content

_CREATED_AT = "2026-01-01T00:00:00.000000Z"


def _line(model: str, content: str = "", *, thinking: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if thinking is not None:
        message["thinking"] = thinking
    return {"model": model, "created_at": _CREATED_AT, "message": message, "done": False}


def _final(reply: Text, *, model: str, content: str = "", thinking: str | None = None) -> dict[str, Any]:
    final = {**_line(model, content, thinking=thinking), "done": True, "done_reason": reply.finish_reason}
    final["total_duration"] = 1_000_000
    if reply.usage is not None:
        final["prompt_eval_count"], final["eval_count"] = reply.usage
    if reply.timings is not None:
        final.update(reply.timings)  # ollama's durations (prompt_eval_duration, eval_duration) in nanoseconds
    return final


def chat_body(reply: Text, *, model: str) -> dict[str, Any]:
    """The `"stream": false` answer: one object holding everything."""
    return _final(reply, model=model, content=reply.content, thinking=reply.reasoning)


def content_lines(
    content: str, *, model: str, reasoning: str | None = None, pieces: list[str] | None = None
) -> list[dict[str, Any]]:
    """The thinking lines, then the content lines (not `done` yet)."""
    lines = [_line(model, thinking=part) for part in split_content(reasoning or "")]
    lines += [_line(model, part) for part in (pieces if pieces is not None else split_content(content))]
    return lines


def stream_lines(reply: Text, *, model: str) -> list[dict[str, Any]]:
    """The NDJSON lines of a streamed answer; no `finish_reason` means the stream ends before `done`."""
    lines = content_lines(reply.content, model=model, reasoning=reply.reasoning, pieces=reply.chunks)
    if reply.finish_reason is not None:
        lines.append(_final(reply, model=model))
    return lines


def error_body(status: int, message: str | None = None) -> dict[str, str]:
    return {"error": message or HTTPStatus(status).phrase.lower()}


class OllamaServer(ScriptedServer):
    """`POST /api/chat`, `GET /api/tags`, and `GET /` ("Ollama is running")."""

    chat_path = "/api/chat"
    stream_content_type = "application/x-ndjson"

    def __init__(self, *, context_length: int | None = None, num_ctx: int | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.context_length = context_length  # model_info's "<arch>.context_length" in /api/show
        self.num_ctx = num_ctx  # the Modelfile's num_ctx parameter in /api/show

    def route(self, request: RecordedRequest, wire: Wire) -> None:
        if request.method == "POST" and request.path == self.chat_path:
            self._chat(request, wire)
        elif request.method == "GET" and request.path == "/api/tags":
            wire.send_json(200, {"models": [{"name": name, "model": name, "size": 0} for name in self.models]})
        elif request.method == "POST" and request.path == "/api/show":
            self._show(request, wire)
        elif request.method == "GET" and request.path == "/":
            wire.send_json(200, "Ollama is running")
        else:
            wire.send_json(404, "404 page not found")

    def _show(self, request: RecordedRequest, wire: Wire) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        model = str(body.get("model") or body.get("name") or "")
        if model not in self.models:
            wire.send_json(404, {"error": f"model '{model}' not found"})
            return
        info: dict[str, Any] = {"general.architecture": "llama"}
        if self.context_length is not None:
            info["llama.context_length"] = self.context_length
        parameters = f"num_ctx                        {self.num_ctx}" if self.num_ctx is not None else ""
        wire.send_json(200, {"modelfile": "", "parameters": parameters, "template": "", "model_info": info})

    def _chat(self, request: RecordedRequest, wire: Wire) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        model = str(body.get("model", ""))
        if model not in self.models:
            wire.send_json(404, {"error": f'model "{model}" not found, try pulling it first'})
            return
        streaming = body.get("stream", True) is not False
        self.serve_chat(request, wire, lambda reply, out: self._answer(reply, model, streaming, out))

    def loop_piece(self, unit: str, request: RecordedRequest) -> bytes:
        body = request.json if isinstance(request.json, dict) else {}
        return json.dumps(_line(str(body.get("model", "")), unit)).encode() + b"\n"

    def _answer(self, reply: Reply, model: str, streaming: bool, wire: Wire) -> None:
        if isinstance(reply, Error):
            payload = reply.body if reply.body is not None else error_body(reply.status, reply.message)
            wire.send_json(reply.status, payload, headers=reply.headers)
        elif isinstance(reply, Text) and streaming:
            self._stream(wire, stream_lines(reply, model=model), done=True)
        elif isinstance(reply, Text):
            wire.send_json(200, chat_body(reply, model=model))
        elif isinstance(reply, CutStream) and streaming:
            self._stream(wire, content_lines(reply.content_before_cut, model=model), done=False)
        elif isinstance(reply, CutStream):
            whole = Text(reply.content_before_cut + " and the rest")
            full = json.dumps(chat_body(whole, model=model)).encode()
            wire.send_truncated(200, full, content_type="application/json", keep=len(full) // 2)
        elif isinstance(reply, ErrorLine) and streaming:
            self._stream(wire, [_line(model, "partial"), {"error": reply.message}], done=True)
        elif isinstance(reply, ErrorLine):
            wire.send_json(500, error_body(500, reply.message))

    @staticmethod
    def _stream(wire: Wire, lines: list[dict[str, Any]], *, done: bool) -> None:
        """NDJSON over chunked encoding; without `done` the connection drops before the last chunk."""
        wire.start_stream("application/x-ndjson")
        for line in lines:
            wire.stream_chunk(json.dumps(line).encode() + b"\n")
        if done:
            wire.end_stream()
