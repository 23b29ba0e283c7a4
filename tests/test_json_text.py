"""The one tokenizer under the JSON-text scanners: strings, escapes and code told apart the same way for all."""

from __future__ import annotations

from devteam.structured.json_text import string_mask, tokens


def test_a_string_with_an_escaped_quote_is_one_string() -> None:
    text = '{"a": "say \\"hi\\""}'
    closes = [t.index for t in tokens(text) if t.kind == "close"]
    assert [text[i] for i in closes] == ['"', '"']
    assert closes[-1] == len(text) - 2  # the quote before the closing brace ends the value


def test_the_mask_covers_string_contents_and_escapes_but_not_quotes_or_code() -> None:
    text = '{"k": "a\\nb", "n": 1}'
    mask = string_mask(text)
    inside = "".join(ch for ch, is_in in zip(text, mask) if is_in)
    assert inside == "ka\\nbn"


def test_single_quotes_open_strings_only_when_asked() -> None:
    text = "{'k': \"it's\"}"
    assert "".join(t.text for t in tokens(text) if t.kind == "text") == "it's"
    assert "".join(t.text for t in tokens(text, quotes="\"'") if t.kind == "text") == "k" + "it's"


def test_a_cut_off_string_and_a_trailing_backslash_stay_inside() -> None:
    text = '{"k": "unfinished \\'
    last = list(tokens(text))[-1]
    assert (last.kind, last.text) == ("escape", "\\")
    assert string_mask(text)[-1]


def test_tokens_start_where_asked() -> None:
    text = 'prose "not json" {"k": 1}'
    start = text.index("{")
    assert next(t.index for t in tokens(text, start=start)) == start
    assert all(t.kind != "text" or t.text == "k" for t in tokens(text, start=start))
