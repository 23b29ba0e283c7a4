"""A test or fix request continues the conversation that wrote the file only where it fits the model's window;
otherwise it is sent as a prompt of its own (smaller), never cut by the server."""

from __future__ import annotations

import asyncio

from fakes import OpenAIServer

from devteam.actions.file_threads import continued, fenced, fits, thread_for
from devteam.config.settings import Config
from devteam.llm.factory import build_llm
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger


def _fits(server: OpenAIServer, messages: list[ChatMessage], answer_tokens: int) -> bool:
    config = Config.model_validate(
        {"llm": {"api_type": "open_llm", "base_url": server.base_url, "model": "m", "max_token": 2048}}
    )

    async def check() -> bool:
        llm = build_llm(config.llm, ledger=Ledger())
        try:
            return await fits(llm, messages, answer_tokens)
        finally:
            await llm.aclose()

    return asyncio.run(check())


CONVERSATION = [
    ChatMessage("system", "You write code."),
    ChatMessage("user", "## Action: WriteCode\nWrite `main.py`. " + "word " * 300),
    ChatMessage("assistant", "```python\nprint('first answer')\n```"),
]


def test_the_file_appears_as_it_reads_now_in_the_writers_fence() -> None:
    now = "print('filled in')\n\n\n"
    messages = continued(CONVERSATION, "main.py", now)
    assert messages[:2] == CONVERSATION[:2]
    assert (
        messages[2]
        == ChatMessage("assistant", "```python\nprint('filled in')\n```")
        == ChatMessage("assistant", fenced("main.py", now))
    )


def test_a_continued_request_is_sent_only_where_the_window_leaves_room_for_the_answer() -> None:
    with OpenAIServer(n_ctx=4096, tokenize=True) as server:
        assert _fits(server, CONVERSATION, 1536)
    with OpenAIServer(n_ctx=1200, tokenize=True) as server:
        # ~330 prompt tokens leave ~870: less than the 1,024 a continued answer is kept at the least.
        assert not _fits(server, CONVERSATION, 256)
    with OpenAIServer() as server:  # a server that does not say its window: the request goes as it is
        assert _fits(server, CONVERSATION, 1536)


def test_a_fix_continues_the_conversation_that_wrote_the_file_as_it_reads_now() -> None:
    code, tests = "print('first answer')\n", "def test_x():\n    assert True\n"
    wrote_tests = [
        *CONVERSATION,
        ChatMessage("user", "## Action: WriteTests\nWrite the pytest file `tests/test_main.py`."),
        ChatMessage("assistant", fenced("tests/test_main.py", tests)),
    ]
    conversations = {"main.py": CONVERSATION, "tests/test_main.py": wrote_tests}

    # Not the tests' conversation (the 0.5B answered a fix there with its tests again): the file's own.
    changed = "print('fixed')\n"
    chosen = thread_for(conversations, "main.py", {"main.py": changed, "tests/test_main.py": tests})
    assert chosen == ([*CONVERSATION[:2], ChatMessage("assistant", fenced("main.py", changed))], {"main.py"})
    # A test file's fix continues the conversation that wrote the tests.
    assert thread_for(conversations, "tests/test_main.py", {"tests/test_main.py": tests}) == (
        wrote_tests,
        {"tests/test_main.py"},
    )
    # A file this run did not write (an earlier run's, on --resume): no conversation to continue.
    assert thread_for({}, "main.py", {"main.py": code}) is None
