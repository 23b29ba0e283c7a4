"""Whether a cut-off answer is a loop: the same lines or sentences over and over until the token limit.

Small models at temperature 0 fall into loops; asked again with a larger budget they loop longer. Where the
server builds a grammar from the schema, the grammar's bounds close the loop (`llm/grammar_bounds.py`); code and
prompt-only JSON have no grammar, so the request asked again carries a repetition penalty instead. A loop
compresses far better than prose or code: measured on real answers, SmolLM2-135M's cut-off loops compress to
0.09–0.20 of their size, answers that ended on their own to 0.25–0.70, and this project's own modules to ~0.4.
"""

from __future__ import annotations

import zlib

# Below this compressed share, a long answer is mostly repetition.
LOOP_COMPRESSION = 0.22
# Shorter answers compress poorly whatever they say: too short to call a loop.
MIN_LOOP_CHARS = 1000


def repeats_itself(text: str) -> bool:
    data = text.encode("utf-8")
    if len(data) < MIN_LOOP_CHARS:
        return False
    return len(zlib.compress(data, 9)) < LOOP_COMPRESSION * len(data)
