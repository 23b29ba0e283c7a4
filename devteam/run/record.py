"""The run record: every LLM exchange, the log lines and the summary, written to `<project>/.devteam/`.

The project folder only exists once the PRD names it, so exchanges and log lines wait in memory until the
project root is known, then are written through as they happen (a crash keeps what came before it). A run
that fails before that (the model never gave a usable PRD) writes them to `<workspace>/.devteam-failed/<run>/`.
Everything passes the `Redactor` on the way to disk. The generated repo's `.gitignore` ignores `.devteam/`:
it holds every full prompt and answer, which are large and private, while the repo is what gets published.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import secrets
import stat
import threading
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from devteam.core.redaction import Redactor
from devteam.llm.client import Exchange
from devteam.llm.record_file import EXCHANGES, RECORD_DIR, RUN_LOG, RUNS_DIR, SUMMARY

log = logging.getLogger("devteam.record")

LOGGER_NAME = "devteam"
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The summary's status of a run the user stopped (Ctrl-C, SIGTERM).
STOPPED_STATUSES = frozenset({"interrupted", "terminated"})


# The run whose task is logging: `metagpt bench` runs several in one process, and each record keeps only its own
# lines (asyncio tasks and `asyncio.to_thread` carry the context along).
_CURRENT_RUN: ContextVar[str | None] = ContextVar("devteam_current_run", default=None)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique enough for the runs of one project: UTC time plus four random hex digits."""
    moment = now or datetime.now(timezone.utc)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(2)}"


class _RecordLogHandler(logging.Handler):
    def __init__(self, recorder: RunRecorder) -> None:
        super().__init__(level=logging.INFO)
        self.recorder = recorder
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == log.name:
            return  # the recorder's own trouble is for the console, not for the file it could not write
        if _CURRENT_RUN.get() not in (None, self.recorder.run_id):
            return  # another run's line, logged while several runs share the process
        try:
            self.recorder.add_log_line(self.format(record))
        except Exception:  # noqa: BLE001 -- a logging handler must never break the run
            self.handleError(record)


class RunRecorder:
    """An `ExchangeObserver` and log handler for one run; `start` before the run, `finish` after it."""

    def __init__(
        self,
        *,
        run_id: str,
        idea: str,
        redactor: Redactor,
        project_root: Callable[[], Path | None],
        failed_folder: Path | None = None,
    ) -> None:
        self.run_id = run_id
        self.idea = idea
        self.redactor = redactor
        self._project_root = project_root
        # Where the record goes when the run ends before a project exists (and it has exchanges to keep).
        self._failed_folder = failed_folder
        self._lock = threading.RLock()
        self._exchanges: list[dict[str, Any]] = []
        self._log_lines: list[str] = []
        self._seq = 0
        self.folder: Path | None = None
        self._broken = False
        self._handler = _RecordLogHandler(self)
        self._previous_level: int | None = None

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Listen to the "devteam" loggers at INFO (repairs, retries, re-asks) for the length of the run."""
        logger = logging.getLogger(LOGGER_NAME)
        if not logger.isEnabledFor(logging.INFO):
            self._previous_level = logger.level
            logger.setLevel(logging.INFO)
        logger.addHandler(self._handler)
        _CURRENT_RUN.set(self.run_id)

    def finish(self, summary: dict[str, Any]) -> Path | None:
        """Stop listening, write what is pending and the summary; the record folder, or None without a project."""
        logger = logging.getLogger(LOGGER_NAME)
        logger.removeHandler(self._handler)
        if self._previous_level is not None:
            logger.setLevel(self._previous_level)
        with self._lock:
            self._flush()
            # A stop before the project exists keeps a record too, even one made before any call was answered:
            # `metagpt logs` must show that run, not an older project.
            stopped = summary.get("status") in STOPPED_STATUSES
            keep = bool(self._exchanges) or stopped
            if self.folder is None and keep and self._failed_folder is not None and not self._broken:
                folder = self._failed_folder
                self._guarded(lambda: self._open_folder(folder, parents=True))
                self._flush()
                self._guarded(lambda: _touch_confined(folder / EXCHANGES))
            if self.folder is None or self._broken:
                return None
            text = json.dumps(self.redactor.data(summary), indent=2, ensure_ascii=False) + "\n"
            self._guarded(lambda: self._write_summary(text))
            return None if self._broken else self.folder

    # -- what gets recorded --------------------------------------------------------------------------------

    def on_exchange(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(self.redactor.data(exchange.to_json()))
            self._flush()

    def on_progress(self, _event: object) -> None:
        """Any progress event may follow the project's creation: a chance to write what is pending."""
        with self._lock:
            self._flush()

    def add_log_line(self, line: str) -> None:
        with self._lock:
            self._log_lines.append(self.redactor.text(line))
            self._flush()

    # -- writing ---------------------------------------------------------------------------------------------

    def _flush(self) -> None:
        if self._broken or (not self._exchanges and not self._log_lines and self.folder is not None):
            return
        if self.folder is None:
            root = self._project_root()
            if root is None:
                return
            self._guarded(lambda: self._open(root))
            if self._broken:
                return
        exchanges, self._exchanges = self._exchanges, []
        lines, self._log_lines = self._log_lines, []
        self._guarded(lambda: self._append(exchanges, lines))

    def _open(self, root: Path) -> None:
        self._open_folder(root / RECORD_DIR)

    def _open_folder(self, folder: Path, *, parents: bool = False) -> None:
        if parents:
            folder.parent.mkdir(parents=True, exist_ok=True)
        folder = _confined_folder(folder)
        exchanges = folder / EXCHANGES
        if exchanges.is_file() and not exchanges.is_symlink():
            _mend_torn_end(exchanges)
            with exchanges.open(encoding="utf-8") as existing:
                self._seq = sum(1 for line in existing if line.strip())
        header = f"=== run {self.run_id}: {self.idea} ===\n"
        with _open_confined(folder / RUN_LOG, append=True) as run_log:
            run_log.write(self.redactor.text(header))
        self.folder = folder

    def _append(self, exchanges: list[dict[str, Any]], lines: list[str]) -> None:
        assert self.folder is not None
        if exchanges:
            with _open_confined(self.folder / EXCHANGES, append=True) as out:
                for exchange in exchanges:
                    self._seq += 1
                    # One write per line: a crash leaves at most the last line torn, which readers skip.
                    out.write(json.dumps({"run": self.run_id, "seq": self._seq, **exchange}, ensure_ascii=False) + "\n")
        if lines:
            with _open_confined(self.folder / RUN_LOG, append=True) as out:
                out.write("".join(line + "\n" for line in lines))

    def _write_summary(self, text: str) -> None:
        assert self.folder is not None
        runs = _confined_folder(self.folder / RUNS_DIR)
        with _open_confined(runs / f"{self.run_id}.json", append=False) as out:
            out.write(text)
        with _open_confined(self.folder / SUMMARY, append=False) as out:
            out.write(text)

    def _guarded(self, write: Callable[[], None]) -> None:
        """A record that cannot be written must not stop the run that it describes."""
        try:
            write()
        except (OSError, RecordRefusedError) as error:
            self._broken = True
            log.warning("the run record could not be written (%s); the run goes on without it", error)


# -- confinement: the record is written like code files are, never through a link ---------------------------

_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NON_BLOCK = getattr(os, "O_NONBLOCK", 0)


class RecordRefusedError(Exception):
    """A record path is a link (or not a folder): writing through it could land anywhere."""


def _confined_folder(folder: Path) -> Path:
    """`folder`, created if missing; refused when it is a symbolic link or not a folder."""
    if folder.is_symlink():
        raise RecordRefusedError(f"{folder} is a symbolic link; the record is never written through links")
    folder.mkdir(exist_ok=True)
    if not folder.is_dir() or folder.is_symlink():
        raise RecordRefusedError(f"{folder} is not a folder")
    return folder


def _open_confined(path: Path, *, append: bool) -> TextIO:
    """Open a record file for writing without following a link at its name (O_NOFOLLOW where there is one)."""
    if path.is_symlink():
        raise RecordRefusedError(f"{path} is a symbolic link; the record is never written through links")
    # O_NONBLOCK: a FIFO planted at the name must not hang the run (opening it for writing would wait for a
    # reader); whatever opened, only a regular file is written to.
    flags = os.O_WRONLY | os.O_CREAT | _NO_FOLLOW | _NON_BLOCK | (os.O_APPEND if append else os.O_TRUNC)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as error:
        if error.errno == errno.ENXIO:  # a FIFO nobody reads
            raise RecordRefusedError(f"{path} is not a regular file (a FIFO); the record skips it") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise RecordRefusedError(f"{path} is not a regular file (a FIFO, device or socket); the record skips it")
    if _NON_BLOCK:
        os.set_blocking(fd, True)
    return os.fdopen(fd, "a" if append else "w", encoding="utf-8")


def _touch_confined(path: Path) -> None:
    """The exchanges file exists even when no call ended, so `metagpt logs` finds the run it belongs to."""
    with _open_confined(path, append=True):
        pass


def _mend_torn_end(path: Path) -> None:
    """A run killed mid-write can leave a last line without its newline: complete a whole JSON line, drop a
    torn one (it cannot be read back), so this run's lines start on a line of their own."""
    with path.open("rb") as existing:
        data = existing.read()
    if not data or data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    tail = data[cut:]
    try:
        json.loads(tail)
    except ValueError:
        log.warning("the last line of %s was torn (a run stopped while writing it); %d bytes dropped", path, len(tail))
        with path.open("r+b") as torn:
            torn.truncate(cut)
        return
    with _open_confined(path, append=True) as out:
        out.write("\n")
