"""A scripted HTTP server on 127.0.0.1: the shared machinery of the OpenAI and ollama fakes.

The fakes speak real HTTP so that the real `openai` SDK and `httpx` run unmodified against them; what
each protocol puts on the wire lives in `openai_server.py` and `ollama_server.py`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; `json` is the decoded body (None when there was none)."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any = None


def asked(messages: list[dict[str, Any]]) -> str:
    """The user turn that says what a chat request asks for: the last one naming an action (`## Action: ...`),
    since a test or fix request continues the conversation that wrote the file; else the first user turn."""
    users = [str(m.get("content") or "") for m in messages if m.get("role") == "user"]
    return next((text for text in reversed(users) if "## Action: " in text), users[0] if users else "")


@dataclass(frozen=True)
class Text:
    """A normal answer. `chunks` fixes how the content is split when streamed (default: a few pieces)."""

    content: str
    finish_reason: str | None = "stop"
    reasoning: str | None = None
    usage: tuple[int, int] | None = None
    chunks: list[str] | None = None
    # What a server reports besides the counts: prompt tokens its cache served (OpenAI's
    # `prompt_tokens_details.cached_tokens`) and llama.cpp's `timings` object, sent with the usage.
    cached_tokens: int | None = None
    timings: dict[str, Any] | None = None


@dataclass(frozen=True)
class Error:
    """An HTTP error. `body` None means the protocol's usual error shape carrying `message`;
    a dict is sent as JSON, a str verbatim (proxies answer with HTML or plain text)."""

    status: int
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class CutStream:
    """Start answering, then drop the connection before the answer is complete."""

    content_before_cut: str = "partial"


@dataclass(frozen=True)
class Hang:
    """Say nothing for `seconds` (or until the server closes), then drop the connection."""

    seconds: float


@dataclass(frozen=True)
class ErrorLine:
    """Status 200, one piece of the answer, then an error inside the stream (ollama, vLLM do this)."""

    message: str


@dataclass(frozen=True)
class Raw:
    """Hostile: exactly this status and body, whatever the protocol says (a proxy's HTML page, a JSON list,
    invalid UTF-8, nesting 10,000 deep...)."""

    body: bytes
    status: int = 200
    content_type: str = "application/json"


@dataclass(frozen=True)
class RawStream:
    """Hostile: status 200 and a stream whose chunks are these bytes verbatim (SSE or NDJSON lines that are
    not JSON, invalid UTF-8); the stream ends properly after them."""

    chunks: tuple[bytes, ...]


@dataclass(frozen=True)
class Trickle:
    """Hostile: `reply` sent one byte every `interval` seconds: each read gets data, the answer never ends."""

    reply: Text
    interval: float = 1.0


@dataclass(frozen=True)
class Loop:
    """A model gone round: status 200, then `unit` streamed over and over, never finishing, until the client
    hangs up (counted in `ScriptedServer.hangups`), the server closes or `seconds` pass."""

    unit: str
    seconds: float = 60.0
    interval: float = 0.001


Reply = Text | Error | CutStream | Hang | ErrorLine | Raw | RawStream | Trickle | Loop
Handler = Callable[[RecordedRequest], Reply]

# A missing script is a test bug: answer with a status no client retries, so the test fails fast.
NO_SCRIPT_STATUS = 418


def split_content(text: str, pieces: int = 3) -> list[str]:
    """Split `text` into up to `pieces` non-empty deltas, like a server streaming tokens."""
    if not text:
        return []
    size = max(1, -(-len(text) // pieces))
    return [text[i : i + size] for i in range(0, len(text), size)]


class Wire:
    """What a route handler may do to the client: thin writes over the handler's socket.

    Every response closes the connection afterwards (`Connection: close`), so a cut is a plain close.
    """

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._handler = handler
        # The client closed the connection while we were writing.
        self.broken = False

    def send_json(self, status: int, payload: Any, *, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        content_type = "text/plain" if isinstance(payload, str) else "application/json"
        self.send_bytes(status, data.encode(), content_type=content_type, headers=headers)

    def send_bytes(self, status: int, data: bytes, *, content_type: str, headers: dict[str, str] | None = None) -> None:
        self._start(status, content_type, {"Content-Length": str(len(data)), **(headers or {})})
        self._write(data)

    def send_truncated(self, status: int, data: bytes, *, content_type: str, keep: int) -> None:
        """Announce the full length, send only `keep` bytes, then close: a body cut in transit."""
        self._start(status, content_type, {"Content-Length": str(len(data))})
        self._write(data[:keep])

    def start_stream(self, content_type: str) -> None:
        self._start(200, content_type, {"Transfer-Encoding": "chunked", "Cache-Control": "no-cache"})

    def stream_chunk(self, data: bytes) -> None:
        self._write(b"%x\r\n%s\r\n" % (len(data), data))

    def end_stream(self) -> None:
        self._write(b"0\r\n\r\n")

    def trickled(self, *, interval: float, closing: threading.Event) -> Wire:
        """The same connection, its body sent one byte at a time."""
        return TrickleWire(self._handler, interval=interval, closing=closing)

    def _start(self, status: int, content_type: str, headers: dict[str, str]) -> None:
        handler = self._handler
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Connection", "close")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()

    def _write(self, data: bytes) -> None:
        try:
            self._handler.wfile.write(data)
            self._handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.broken = True  # the client gave up (timeout, or it cut a loop); nothing left to tell it


class TrickleWire(Wire):
    """A `Wire` that sends every body byte on its own, `interval` seconds apart (headers go at once)."""

    def __init__(self, handler: BaseHTTPRequestHandler, *, interval: float, closing: threading.Event) -> None:
        super().__init__(handler)
        self._interval = interval
        self._closing = closing

    def _write(self, data: bytes) -> None:
        for index in range(len(data)):
            if self._closing.is_set():
                return
            try:
                self._handler.wfile.write(data[index : index + 1])
                self._handler.wfile.flush()
            except (BrokenPipeError, ConnectionResetError, OSError):
                return  # the client gave up: the point of the exercise
            self._closing.wait(self._interval)


_Server = TypeVar("_Server", bound="ScriptedServer")


class ScriptedServer:
    """A real HTTP server in a daemon thread, answering chat requests from a script.

    Replies come from the FIFO filled by `enqueue`, else from the handler given to `set_handler`.
    Subclasses map (method, path) to a route in `route`.
    """

    default_models: tuple[str, ...] = ("test-model",)
    chat_path: str = ""  # set by each protocol
    stream_content_type: str = "application/octet-stream"  # set by each protocol

    def __init__(self, *, models: Iterable[str] | None = None, latency: float = 0.0) -> None:
        self.models: list[str] = list(models if models is not None else self.default_models)
        self.latency = latency
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()
        self._handler: Handler | None = None
        self._requests: list[RecordedRequest] = []
        self._closing = threading.Event()
        # How many `Loop` answers the client cut by hanging up.
        self.hangups = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url = ""

    # -- lifecycle --------------------------------------------------------------------------------------

    def start(self: _Server) -> _Server:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        # Join handler threads on close: a thread still holding a socket would leak it past the test.
        httpd.daemon_threads = False
        httpd.block_on_close = True
        httpd.fake = self  # type: ignore[attr-defined]
        self._httpd = httpd
        host, port = httpd.server_address[:2]
        self._url = f"http://{host}:{port}"
        # A short poll keeps `close` (shutdown) quick: tests open and close many servers.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is None:
            return
        self._closing.set()  # wakes Hang and latency sleeps
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = None

    def __enter__(self: _Server) -> _Server:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT; kept after `close`, so a test can aim at a port nobody listens on."""
        if not self._url:
            raise RuntimeError("server not started")
        return self._url

    # -- script -----------------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def set_handler(self, fn: Handler | None) -> None:
        with self._lock:
            self._handler = fn

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The requests to the chat endpoint only (what retry counts care about)."""
        return [r for r in self.requests if r.path == self.chat_path]

    def next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            if self._replies:
                return self._replies.popleft()
            handler = self._handler
        if handler is not None:
            return handler(request)
        return Error(NO_SCRIPT_STATUS, message=f"fake server: no reply scripted for {request.path}")

    def pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the server closes (so tests never wait on a hung handler)."""
        if seconds > 0:
            self._closing.wait(seconds)

    # -- protocol ---------------------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def route(self, request: RecordedRequest, wire: Wire) -> None:
        raise NotImplementedError

    def serve_chat(self, request: RecordedRequest, wire: Wire, answer: Callable[[Reply, Wire], None]) -> None:
        """The common part of a chat route: pick the reply, wait the latency, hang, trickle or send raw bytes."""
        reply = self.next_reply(request)
        self.pause(self.latency)
        if isinstance(reply, Hang):
            self.pause(reply.seconds)
        elif isinstance(reply, Raw):
            wire.send_bytes(reply.status, reply.body, content_type=reply.content_type)
        elif isinstance(reply, RawStream):
            wire.start_stream(self.stream_content_type)
            for chunk in reply.chunks:
                wire.stream_chunk(chunk)
            wire.end_stream()
        elif isinstance(reply, Trickle):
            answer(reply.reply, wire.trickled(interval=reply.interval, closing=self._closing))
        elif isinstance(reply, Loop):
            self._loop(reply, request, wire)
        else:
            answer(reply, wire)

    def loop_piece(self, unit: str, request: RecordedRequest) -> bytes:
        """One streamed piece carrying `unit`, in this protocol's framing."""
        raise NotImplementedError

    def _loop(self, reply: Loop, request: RecordedRequest, wire: Wire) -> None:
        wire.start_stream(self.stream_content_type)
        piece = self.loop_piece(reply.unit, request)
        deadline = time.monotonic() + reply.seconds
        while not wire.broken and not self._closing.is_set() and time.monotonic() < deadline:
            wire.stream_chunk(piece)
            self._closing.wait(reply.interval)
        if wire.broken:
            with self._lock:
                self.hangups += 1


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10  # a client that connects and never speaks must not pin a thread forever

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        self.close_connection = True
        fake: ScriptedServer = self.server.fake  # type: ignore[attr-defined]
        request = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            json=self._read_json(),
        )
        fake.record(request)
        fake.route(request, Wire(self))

    def _read_json(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if not length:
            return None
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet
