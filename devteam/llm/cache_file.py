"""A small JSON object on disk that runs share (the output level and the speed each server was found at).

Read whole and written whole by write-then-rename, so two runs at once or one killed mid-write never leave half
a file; a file that cannot be read or written is named in a warning and carried on without, never a reason to
stop a run.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger("devteam.llm")


class JsonCacheFile:
    def __init__(self, path: Path, what: str) -> None:
        self.path = path
        self.what = what  # "the structured-output cache": how the warnings name it

    def read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, RecursionError) as error:
            log.warning("ignoring %s %s (%s)", self.what, self.path, error)
            return {}
        return {str(key): value for key, value in data.items()} if isinstance(data, dict) else {}

    def write(self, entries: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(
                "w", dir=self.path.parent, suffix=".tmp", delete=False, encoding="utf-8"
            ) as handle:
                json.dump(entries, handle, indent=1, sort_keys=True)
            os.replace(handle.name, self.path)
        except OSError as error:
            log.warning("could not write %s %s (%s); carrying on without it", self.what, self.path, error)
