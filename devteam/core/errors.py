"""One small error hierarchy; only the CLI turns these into messages and exit codes."""

from __future__ import annotations


class DevteamError(Exception):
    """Base of every error the project raises on purpose."""


class ConfigError(DevteamError):
    """A config file or a command-line option is wrong; the message names the file, the key and the fix."""


class ProviderError(DevteamError):
    """An LLM server could not give an answer (after retries, where the fault was transient)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str | None = None,
        transient: bool = False,
        retry_after: float | None = None,
        unreachable: bool = False,
        cut: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.transient = transient
        self.retry_after = retry_after
        # Nothing accepted the connection: worth retrying for a server that answered before, not on first contact.
        self.unreachable = unreachable
        # The answer stopped mid-way (a stream without its end, a connection dropped mid-body): a server that
        # serves one request at a time does this to the answer it is giving when another request arrives.
        self.cut = cut


class SchemaRejectedError(ProviderError):
    """The server refused the `response_format`/`format` we sent; the caller falls back to prompt-only JSON."""


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
