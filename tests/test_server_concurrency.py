"""Concurrency adapts to the server: one that serves one request at a time gets one call at a time.

llama.cpp says so in `GET /props` (`total_slots`); llama-cpp-python's server says nothing and cuts the answer it
is streaming when another request arrives. `OneAtATime` below is that server's behaviour on the real wire: the
answers in flight when a new request comes are cut (a stream without its end).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from fakes import CutStream, OpenAIServer, RecordedRequest, Reply
from scripted_company import ScriptedCompany, ScriptedFile
from test_team import action_of, config_for, options_for, run

# Four files of one level: written concurrently unless the server is known to serve one request at a time.
FILES = [
    ScriptedFile(f"quad/{name}.py", f"{name.upper().strip('_')} = {i}\n")
    for i, name in enumerate(("a", "b", "c", "__main__"))
]


class OneAtATime:
    """Like llama-cpp-python's server: a request that arrives cuts the answers being streamed.

    The first `expected` WriteCode requests are held until all have arrived (or `patience` runs out), so that
    written concurrently they overlap for sure; later requests are not held.
    """

    def __init__(self, company: ScriptedCompany, *, expected: int, patience: float = 5.0) -> None:
        self.company = company
        self.expected = expected
        self.patience = patience
        self.arrived = 0
        self.active: set[int] = set()
        self.cut: set[int] = set()
        self.cuts = 0
        self.peak = 0
        self._changed = threading.Condition()

    def __call__(self, request: RecordedRequest) -> Reply:
        if action_of(request) != "WriteCode":
            return self.company(request)
        with self._changed:
            self.arrived += 1
            me = self.arrived
            self.cut.update(self.active)  # the new request interrupts every answer in progress
            self.active.add(me)
            self.peak = max(self.peak, len(self.active))
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.arrived >= self.expected, timeout=self.patience)
            self.active.discard(me)
            was_cut = me in self.cut
            self.cuts += was_cut
        return CutStream("def partial(") if was_cut else self.company(request)


def test_a_server_with_one_slot_gets_one_call_at_a_time(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    company = ScriptedCompany(FILES, project_name="quad")
    with OpenAIServer(total_slots=1) as server:
        server.set_handler(one_at_a_time := OneAtATime(company, expected=4, patience=0.5))
        with caplog.at_level(logging.WARNING, logger="devteam"):
            outcome = run(config_for(server), options_for(tmp_path, max_concurrency=4))

    assert outcome.error is None, outcome.error
    assert one_at_a_time.peak == 1 and one_at_a_time.cuts == 0
    assert any("total_slots=1" in r.getMessage() and "one call at a time" in r.getMessage() for r in caplog.records)


def test_streams_cut_under_concurrency_switch_to_one_call_at_a_time(
    tmp_path: Path, openai_server: OpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    company = ScriptedCompany(FILES, project_name="quad")
    openai_server.set_handler(one_at_a_time := OneAtATime(company, expected=4))
    config = config_for(openai_server).model_copy(deep=True)
    config.llm.num_retries = 3

    with caplog.at_level(logging.WARNING, logger="devteam"):
        outcome = run(config, options_for(tmp_path, max_concurrency=4))

    assert outcome.error is None, outcome.error
    assert one_at_a_time.cuts >= 1  # the first wave cut each other ...
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("concurrency:")]
    assert len(lines) == 1, lines  # ... which is said once, then calls queue
    assert "cut a streamed answer while" in lines[0] and "one call at a time" in lines[0]
    assert sorted(path for path in company.calls if path.endswith(".py")) == sorted(f.path for f in FILES)


def test_when_cut_streams_still_fail_the_error_names_max_concurrency(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedCompany(FILES, project_name="quad")
    openai_server.set_handler(OneAtATime(company, expected=4))
    config = config_for(openai_server).model_copy(deep=True)
    config.llm.num_retries = 0

    outcome = run(config, options_for(tmp_path, max_concurrency=4))

    assert outcome.error is not None
    message = str(outcome.error)
    assert "cut mid-answer" in message or "broke before the answer was complete" in message
    assert "serves one request at a time" in message and "--max-concurrency 1" in message


def test_a_cut_with_nothing_else_in_flight_says_nothing_of_concurrency(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    company = ScriptedCompany(FILES, project_name="quad")
    openai_server.set_handler(lambda request: CutStream("x") if action_of(request) == "WriteCode" else company(request))
    config = config_for(openai_server).model_copy(deep=True)
    config.llm.num_retries = 0

    outcome = run(config, options_for(tmp_path, max_concurrency=1))

    assert outcome.error is not None
    assert "cut mid-answer" in str(outcome.error) or "broke before the answer was complete" in str(outcome.error)
    assert "--max-concurrency" not in str(outcome.error)
