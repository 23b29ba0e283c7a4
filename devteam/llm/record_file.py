"""The run record's file format, shared by the writer (`devteam.run.record`), replay and `metagpt logs`.

`<project>/.devteam/exchanges.jsonl` holds one JSON object per LLM exchange: `run` (the run's id), `seq`
(1-based across the whole file; runs of one project, such as a `--resume`, append), then the fields of
`devteam.llm.client.Exchange`. `summary.json` is the latest run's summary, `runs/<run>.json` every run's,
and `run.log` the log lines of every run.
A run that fails before its project folder exists (the PRD never came) writes the same files into
`<workspace>/.devteam-failed/<run id>/`, so `metagpt logs` still shows what the model said.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from devteam.core.errors import ConfigError

log = logging.getLogger("devteam.llm")

RECORD_DIR = ".devteam"
EXCHANGES = "exchanges.jsonl"
SUMMARY = "summary.json"
RUNS_DIR = "runs"
RUN_LOG = "run.log"
# A run that failed before its project existed keeps its record in <workspace>/.devteam-failed/<run id>/.
FAILED_RUNS_DIR = ".devteam-failed"
# The `outcome` of a call a stop cut short: its `answer` is what had streamed in; replay never uses it.
INTERRUPTED = "interrupted"

# What a line needs for replay; everything else is shown by `metagpt logs` when present.
REQUIRED_FIELDS = ("role", "action", "answer")


def read_exchanges(path: Path) -> list[dict[str, Any]]:
    """Every exchange in a record file; `ConfigError` naming the file and line when it cannot be used."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"the record {path} does not exist; give the path of a run's .devteam/{EXCHANGES}") from None
    except IsADirectoryError:
        raise ConfigError(f"the record {path} is a folder; give the path of its {EXCHANGES} file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"the record {path} cannot be read: {error}") from None
    exchanges = []
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if number == len(lines) and not text.endswith("\n") and not _is_json(line):
            # A run killed mid-write leaves its last line torn; everything before it is still good.
            log.warning(
                "%s: the last line (%d) is incomplete, as a run stopped while writing it; skipped", path, number
            )
            continue
        exchanges.append(_parse_line(line, path=path, number=number))
    if not exchanges:
        raise ConfigError(f"the record {path} holds no exchanges")
    return exchanges


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except (ValueError, RecursionError):
        return False
    return True


def _parse_line(line: str, *, path: Path, number: int) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except ValueError as error:
        raise ConfigError(f"the record {path} is not valid JSON lines: line {number}: {error}") from None
    except RecursionError:
        raise ConfigError(f"the record {path}: line {number} is JSON nested too deeply to read") from None
    if not isinstance(data, dict):
        raise ConfigError(f"the record {path}: line {number} is not a JSON object")
    missing = [name for name in REQUIRED_FIELDS if not isinstance(data.get(name), str)]
    if missing:
        raise ConfigError(f"the record {path}: line {number} lacks {', '.join(missing)} (is it a devteam record?)")
    return data
