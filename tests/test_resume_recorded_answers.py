"""Which answers of a project's record `--resume` gives again (RecordedAnswers), read from real record files."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from devteam.llm.recorded_answers import RecordedAnswers
from devteam.llm.types import ChatMessage, ChatRequest

PROMPT = [{"role": "system", "content": "You are an engineer."}, {"role": "user", "content": "Write a.py"}]


def _exchange(answer: str, *, outcome: str = "ok", run: str = "r1", subject: str = "a.py", **extra: object) -> dict:
    return {
        "run": run,
        "role": "Engineer",
        "action": "WriteCode",
        "subject": subject,
        "messages": PROMPT,
        "answer": answer,
        "outcome": outcome,
        "output_mode": "prompt",
        **extra,
    }


def _record(root: Path, lines: list[object]) -> Path:
    folder = root / ".devteam"
    folder.mkdir(parents=True)
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    (folder / "exchanges.jsonl").write_text(text)
    return root


def _request(subject: str = "a.py", content: str = "Write a.py") -> ChatRequest:
    return ChatRequest(
        messages=[ChatMessage("system", "You are an engineer."), ChatMessage("user", content)],
        role="Engineer",
        action="WriteCode",
        subject=subject,
    )


def test_answers_are_given_once_each_in_order_for_the_very_same_request(tmp_path: Path) -> None:
    answers = RecordedAnswers.of_project(
        _record(tmp_path, [_exchange("bad", outcome="invalid: no code"), _exchange("good")])
    )

    assert answers.take(_request(content="Write a.py please")) is None  # one byte differs: asked anew
    assert answers.take(_request(subject="b.py")) is None
    first, second = answers.take(_request()), answers.take(_request())
    assert first is not None and second is not None
    assert (first.text, second.text) == ("bad", "good")
    assert first.reused and first.usage.total_tokens == 0
    assert answers.take(_request()) is None  # each answer once
    assert answers.given == 2


def test_a_call_that_ended_unusable_is_asked_anew_so_a_resume_is_never_stuck_on_it(tmp_path: Path) -> None:
    answers = RecordedAnswers.of_project(
        _record(
            tmp_path,
            [
                _exchange("bad 1", outcome="invalid: no code"),
                _exchange("bad 2", outcome="invalid: no code"),  # the give-up: the run failed on it
            ],
        )
    )

    reused = answers.take(_request())
    assert reused is not None and reused.text == "bad 1"  # it led on to the re-ask
    assert answers.take(_request()) is None


def test_cut_short_and_already_reused_answers_are_not_given(tmp_path: Path) -> None:
    answers = RecordedAnswers.of_project(
        _record(
            tmp_path,
            [
                _exchange("bad", outcome="invalid: no code"),
                _exchange("half an ans", outcome="interrupted"),  # the re-ask a Ctrl-C cut short
                _exchange("old", run="r0", reused=True),
            ],
        )
    )

    reused = answers.take(_request())
    assert reused is not None and reused.text == "bad"  # an unusable answer that led on to the cut re-ask
    assert answers.take(_request()) is None


def test_damaged_and_hostile_records_give_nothing_and_never_hang(tmp_path: Path) -> None:
    torn = _record(tmp_path / "torn", [_exchange("good"), '{"run": "r1", "role": "Eng'])
    assert len(RecordedAnswers.of_project(torn)) == 1
    shapes = _record(
        tmp_path / "shapes",
        [[1, 2], _exchange(["not", "text"]), {**_exchange("x"), "messages": "Write a.py"}, "[" * 100_000],
    )
    assert len(RecordedAnswers.of_project(shapes)) == 0
    assert len(RecordedAnswers.of_project(tmp_path / "none")) == 0

    fifo_root = tmp_path / "fifo"
    (fifo_root / ".devteam").mkdir(parents=True)
    os.mkfifo(fifo_root / ".devteam" / "exchanges.jsonl")
    linked = tmp_path / "linked"
    (linked / ".devteam").mkdir(parents=True)
    (linked / ".devteam" / "exchanges.jsonl").symlink_to(torn / ".devteam" / "exchanges.jsonl")
    found: list[int] = []
    reader = threading.Thread(
        target=lambda: found.extend(len(RecordedAnswers.of_project(root)) for root in (fifo_root, linked)),
        daemon=True,
    )
    reader.start()
    reader.join(30)
    assert not reader.is_alive(), "reading a FIFO record hung"
    assert found == [0, 0]
