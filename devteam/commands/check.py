"""`metagpt check`: is the configured LLM reachable, can it give us structured output, and how fast is it?

One small structured round trip through the whole ladder (request shaping, triage, extraction, repair,
validation, re-ask), so what a user sees here is what the pipeline will meet; then one short timed call that
measures how fast the server reads and writes (and its parallel slots), turned into the rough time a project
takes there, cached for the run header (`llm/server_speed.py`). `--no-speed` skips that call.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel, ConfigDict

from devteam.commands.diagnosis import hint_for
from devteam.commands.first_run import no_config_help
from devteam.commands.model_setup import load_user_config, terminal_ask
from devteam.config.settings import Config, ConfigNotFoundError, LLMConfig, describe_preset
from devteam.console.ignored_env import ignored_variables
from devteam.core.errors import ConfigError, DevteamError, ProviderError
from devteam.core.exit_codes import EXIT_FAILED, EXIT_OK
from devteam.core.prompting import render_prompt
from devteam.core.redaction import Redactor, redact_console
from devteam.llm.client import LLM
from devteam.llm.factory import build_llm
from devteam.llm.output_levels import server_key
from devteam.llm.pricing import describe_price, price_for
from devteam.llm.server_speed import ServerSpeed, SpeedCache, measure_speed, speed_cache_path
from devteam.llm.types import ChatMessage
from devteam.llm.usage import Ledger
from devteam.structured.ask import ask_structured
from devteam.structured.schema import schema_for_prompt
from devteam.structured.skeleton import skeleton

ROLE, ACTION = "Check", "Check"
CHECK_RETRIES = 1
CHECK_MAX_WAIT = 2.0
# The answer is a few dozen tokens: a model that loops must not run for minutes (a larger-budget retry doubles
# this once).
CHECK_MAX_TOKENS = 300

LEVEL_WORDS: dict[str, str] = {
    "json_schema": "the strict JSON schema (response_format json_schema; ollama: format)",
    "json_object_schema": "json_object with the schema (llama.cpp's grammar)",
    "json_object": "JSON mode (response_format json_object; the schema only in the prompt)",
    "prompt": "prompt-only JSON (no format the server enforces)",
}


class CheckAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    greeting: str
    numbers: list[int]
    ok: bool


@dataclass
class CheckReport:
    models: list[str] | None = None
    models_error: str | None = None
    latency_s: float = 0.0
    native_schema: bool = False
    output_mode: str = "prompt"
    fallback: str | None = None
    repairs: list[str] = field(default_factory=list)
    reasks: int = 0
    tokens: int = 0
    answer: CheckAnswer | None = None
    error: DevteamError | None = None
    speed: ServerSpeed | None = None
    speed_error: str | None = None


async def run_check(config: Config, *, speed: bool = True) -> CheckReport:
    report = CheckReport()
    # Probe the ladder from the top, whatever an earlier run cached; what works here is cached for runs.
    llm = build_llm(_quick(config), ledger=Ledger(), use_cached_level=False)
    try:
        await _list_models(llm, report)
        prompt = render_prompt("check.j2", schema=schema_for_prompt(CheckAnswer), skeleton=skeleton(CheckAnswer))
        messages = [ChatMessage("system", "You answer with JSON only."), ChatMessage("user", prompt)]
        started = time.monotonic()
        try:
            answer = await ask_structured(
                llm, messages, CheckAnswer, role=ROLE, action=ACTION, repair=config.repair_llm_output
            )
        except DevteamError as error:
            report.error = error
        else:
            report.answer = answer.value
            report.repairs = answer.repairs
            report.reasks = answer.reasks
            report.native_schema = answer.native_schema
            report.output_mode = answer.output_mode
        report.latency_s = time.monotonic() - started
        report.fallback = llm.schema_fallback_reason
        report.tokens = llm.ledger.prompt_tokens + llm.ledger.completion_tokens
        if speed and report.answer is not None:
            await _measure_speed(llm, report)
    finally:
        await llm.aclose()
    return report


async def _measure_speed(llm: LLM, report: CheckReport) -> None:
    """A server that answered the check but fails this call is still usable: the report says so, no more."""
    try:
        report.speed = await measure_speed(llm)
    except DevteamError as error:
        report.speed_error = _clipped(str(error))


def _quick(config: Config) -> LLMConfig:
    """A check should answer in seconds: one retry with short waits and a short answer, whatever the run's
    policy is."""
    llm = config.llm
    return llm.model_copy(
        update={
            "max_token": min(llm.max_token, CHECK_MAX_TOKENS),
            "num_retries": min(llm.num_retries, CHECK_RETRIES),
            "retry_min_wait": min(llm.retry_min_wait, CHECK_MAX_WAIT),
            "retry_max_wait": min(llm.retry_max_wait, CHECK_MAX_WAIT),
        }
    )


async def _list_models(llm: LLM, report: CheckReport) -> None:
    if not llm.provider.capabilities.lists_models:
        return
    try:
        report.models = await llm.list_models()
    except ProviderError as error:
        report.models_error = str(error)


def diagnosis(error: DevteamError, config: Config) -> str:
    """One paragraph: what failed and the most likely fix."""
    text = str(error)
    hint = hint_for(error, config.llm)
    return f"check failed: {text}\n{hint}"


def print_report(report: CheckReport, config: Config, out: TextIO) -> None:
    summary = config.summary()
    print(f"provider:   {summary['provider']}", file=out)
    print(f"model:      {summary['model']}", file=out)
    print(f"preset:     {describe_preset(config.llm)}", file=out)
    print(f"base_url:   {summary['base_url'] or '(default)'}", file=out)
    print(f"config:     {', '.join(str(path) for path in summary['sources']) or '(none)'}", file=out)
    print(f"price:      {describe_price(price_for(config.llm))}", file=out)
    print(
        f"repair:     {'on' if summary['repair'] else 'off'} · structured_output: {summary['structured_output']}",
        file=out,
    )
    if report.models is not None:
        listed = ", ".join(report.models[:10]) + (" ..." if len(report.models) > 10 else "")
        print(f"models:     {listed or '(none listed)'}", file=out)
        if config.llm.model and report.models and config.llm.model not in report.models:
            print(f"warning:    {config.llm.model!r} is not in the server's model list", file=out)
    elif report.models_error:
        print(f"models:     could not list ({report.models_error.splitlines()[0]})", file=out)
    if report.answer is None:
        return
    print(f"round trip: ok in {report.latency_s:.2f}s, {report.tokens} tokens, {report.reasks} re-asks", file=out)
    print(f"level:      {report.output_mode}: {LEVEL_WORDS.get(report.output_mode, report.output_mode)}", file=out)
    print(f"schema:     {_honoured(report)}", file=out)
    if report.fallback:
        print(f"            the server rejected a higher level: {_clipped(report.fallback)}", file=out)
    print(f"repairs:    {', '.join(report.repairs) if report.repairs else 'none needed'}", file=out)
    if report.speed is not None:
        print(f"speed:      {report.speed.describe()}", file=out)
        expectation = report.speed.expectation()
        print(f"expect:     {expectation or 'unknown (the answer came too quickly to time)'}", file=out)
    elif report.speed_error is not None:
        print(f"speed:      not measured ({report.speed_error})", file=out)


def _clipped(text: str, limit: int = 160) -> str:
    """A server's reason, as one short line (pydantic's errors run to many lines of detail)."""
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _honoured(report: CheckReport) -> str:
    """ "honoured" only when the server was given the schema and the answer parsed as sent: no repair, no re-ask."""
    if not report.native_schema:
        return "honoured natively: no (the server was not given the schema)"
    if report.repairs or report.reasks:
        return "honoured natively: no (the server was given the schema, but the answer needed repairs or re-asks)"
    return "honoured natively: yes (the answer parsed with no repair)"


class _LevelStepsAsInfo(logging.Filter):
    """check probes the output levels from the top, so a server refusing one is expected: its step down is an
    INFO line (shown with -v), and the report says once which level worked and why a higher one did not."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("schema_fallback"):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


@contextmanager
def quiet_level_steps() -> Iterator[None]:
    logger = logging.getLogger("devteam.llm")
    steps = _LevelStepsAsInfo()
    logger.addFilter(steps)
    try:
        yield
    finally:
        logger.removeFilter(steps)


def run_check_command(args: argparse.Namespace, *, verbose: bool = False) -> int:
    try:
        config = load_user_config(
            args.config,
            model=getattr(args, "model", None),
            env=os.environ,
            cwd=Path.cwd(),
            home=Path.home(),
            ask=terminal_ask(),
        )
    except ConfigNotFoundError as missing:
        raise ConfigError(no_config_help(missing.looked_at)) from None
    redactor = Redactor(config.secrets())
    redact_console(redactor)
    for line in ignored_variables(config, os.environ):
        print(f"note:       {line}", file=sys.stderr)
    with quiet_level_steps():
        report = asyncio.run(run_check(config, speed=getattr(args, "speed", True)))
    if report.speed is not None:
        llm = config.llm
        cache = SpeedCache(speed_cache_path(os.environ, Path.home()))
        cache.put(server_key(llm.api_type, llm.base_url, llm.model), report.speed)
    shown = io.StringIO()
    print_report(report, config, shown)
    # A server may name its models after the key or echo it in an error: nothing it sent is printed unscrubbed.
    sys.stdout.write(redactor.text(shown.getvalue()))
    if report.error is not None:
        print(redactor.text(diagnosis(report.error, config)), file=sys.stderr)
        if not verbose:
            print("(run with -v to see retries and repairs as they happen)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
