"""Whether a cut-off answer is a loop: the same lines or sentences over and over until the token limit.

Where the server builds a grammar from the schema, the grammar's bounds close the loop (`llm/grammar_bounds.py`);
code and prompt-only JSON have no grammar, so the request asked again carries a repetition penalty instead.
The test itself lives in `llm/loop_watch.py`, where the providers also watch streams with it.
"""

from __future__ import annotations

from devteam.llm.loop_watch import LOOP_COMPRESSION, LOOP_FINISH, MIN_LOOP_CHARS, repeats_itself

__all__ = ["LOOP_COMPRESSION", "LOOP_FINISH", "MIN_LOOP_CHARS", "repeats_itself"]
