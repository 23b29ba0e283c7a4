"""One small error hierarchy; only the CLI turns these into messages and exit codes."""

from __future__ import annotations


class DevteamError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(DevteamError):
    """A config file or a command-line option is wrong; the message names the file, the key and the fix."""


class ProviderError(DevteamError):
    """An LLM server could not give an answer. Its subclass says what went wrong; the retry policy
    (`llm.retry`) reads that from the type, so a provider cannot forget to say whether to try again.

    A plain `ProviderError` is a failure that another attempt would only repeat (an empty stdin, a local
    model that raised). `status`, `retry_after`, `transient`, `unreachable` and `cut` are fixed by the type.
    """

    transient: bool = False
    # Nothing accepted the connection: worth retrying for a server that answered before, not on first contact.
    unreachable: bool = False
    # The answer stopped mid-way (a stream without its end, a connection dropped mid-body): a server that
    # serves one request at a time does this to the answer it is giving when another request arrives.
    cut: bool = False
    status: int | None = None
    retry_after: float | None = None

    def __init__(self, message: str, *, body: str | None = None) -> None:
        super().__init__(message)
        self.body = body


class ServerUnreachableError(ProviderError):
    """Nothing accepted the connection (refused, no route, an unknown host)."""

    transient = True
    unreachable = True


class ProviderTimeoutError(ProviderError):
    """No answer (or no complete answer) within the timeout."""

    transient = True


class AnswerCutError(ProviderError):
    """The connection or the stream ended before the answer was complete."""

    transient = True
    cut = True


class ServerFaultError(ProviderError):
    """The server took the request, then reported a fault while serving it (an error event inside a 200
    stream that reads like an overloaded or restarting server)."""

    transient = True


class HTTPStatusError(ProviderError):
    """The server answered with an HTTP error status; worth another attempt only for the transient ones."""

    def __init__(self, message: str, *, status: int, body: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, body=body)
        self.status = status
        self.retry_after = retry_after
        self.transient = is_transient_status(status)


class MalformedAnswerError(ProviderError):
    """A 200 whose body is not what the protocol promises. A server that answers so answers so again."""


class SchemaRejectedError(ProviderError):
    """The server refused the `response_format`/`format` we sent; the caller falls back to prompt-only JSON.

    `status` is None for an error event inside a 200 stream."""

    def __init__(self, message: str, *, status: int | None = None, body: str | None = None) -> None:
        super().__init__(message, body=body)
        self.status = status


class RetriesExhaustedError(ProviderError):
    """Every attempt failed with a transient fault; `last` is the final one (its kind and status carry over)."""

    def __init__(self, message: str, *, last: ProviderError, attempts: int) -> None:
        super().__init__(message, body=last.body)
        self.last = last
        self.attempts = attempts
        self.status, self.retry_after = last.status, last.retry_after
        self.unreachable, self.cut = last.unreachable, last.cut


def is_transient_status(status: int) -> bool:
    """HTTP statuses worth another attempt: timeouts, conflicts, rate limits and server faults."""
    return status in (408, 409, 429) or status >= 500


class BudgetExceededError(DevteamError):
    """The next LLM call would cost more than the investment left; it was not made."""


class ContextWindowError(DevteamError):
    """A prompt does not fit the model's context window with room for the answer; it was not sent."""


class StructuredOutputError(DevteamError):
    """The model's answers could not be turned into the requested structure, even after re-asking."""

    def __init__(self, message: str, *, attempts: int, last_text: str, errors: list[str]) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_text = last_text
        self.errors = errors


class WorkspaceError(DevteamError):
    """The project folder cannot be used as asked (exists already, unsafe path, not a repository)."""


class ReplayMismatchError(DevteamError):
    """A replayed run asked for a call the record does not hold."""


class RunInterruptedError(DevteamError):
    """The user pressed Ctrl-C (or the run got SIGTERM); what was committed stays."""

    def __init__(self, message: str, *, exit_code: int = 130) -> None:
        super().__init__(message)
        self.exit_code = exit_code
