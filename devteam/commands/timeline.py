"""`metagpt logs --timeline`: the calls of a run on a time axis, drawn as text bars.

A table of latencies says how long each call took; a picture says what ran side by side and where the minutes
went (a PRD asked three times, a level of files that waited on one slow file). Each call's bar spans its
`started_at` to `started_at + latency_s` as the record holds them; a call that a stop cut short is drawn hollow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LABEL_WIDTH = 40
MIN_BAR_WIDTH = 20
SOLID, HOLLOW, EMPTY = "█", "░", "·"
AXIS_TICKS = 5


@dataclass(frozen=True)
class Span:
    label: str
    start: float
    end: float
    interrupted: bool

    @property
    def seconds(self) -> float:
        return self.end - self.start


def spans(exchanges: list[dict[str, Any]]) -> list[Span]:
    """The calls with a start time, in the order they started; a record without times is laid end to end."""
    found = []
    clock = 0.0
    for exchange in exchanges:
        latency = max(float(exchange.get("latency_s") or 0.0), 0.0)
        started = exchange.get("started_at")
        start = float(started) if isinstance(started, (int, float)) and started > 0 else clock
        clock = start + latency
        subject = f" {exchange['subject']}" if exchange.get("subject") else ""
        label = f"{exchange.get('seq', '')} {exchange.get('role', '')} {exchange.get('action', '')}{subject}"
        found.append(Span(label, start, start + latency, exchange.get("outcome") == "interrupted"))
    found.sort(key=lambda span: span.start)
    return found


def most_at_once(found: list[Span]) -> int:
    events = sorted([(span.start, 1) for span in found] + [(span.end, -1) for span in found])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def format_timeline(exchanges: list[dict[str, Any]], *, width: int) -> str:
    found = spans(exchanges)
    if not found:
        return "no calls to draw"
    origin = found[0].start
    total = max(max(span.end for span in found) - origin, 1e-6)
    label_width = min(LABEL_WIDTH, max(len(span.label) for span in found))
    bar_width = max(MIN_BAR_WIDTH, width - label_width - 12)
    per_column = total / bar_width
    lines = [
        f"{len(found)} call{'s' if len(found) != 1 else ''} over {total:.1f}s, at most {most_at_once(found)} at once;"
        f" {sum(span.seconds for span in found):.1f}s of calls in all",
        " " * (label_width + 1) + _axis(total, bar_width),
    ]
    for span in found:
        first = int((span.start - origin) / per_column)
        length = max(1, round(span.seconds / per_column))
        first = min(first, bar_width - 1)
        length = min(length, bar_width - first)
        mark = HOLLOW if span.interrupted else SOLID
        bar = EMPTY * first + mark * length + EMPTY * (bar_width - first - length)
        note = " (stopped)" if span.interrupted else ""
        lines.append(f"{_fit(span.label, label_width)} {bar} {span.seconds:6.1f}s{note}")
    return "\n".join(lines)


def _axis(total: float, width: int) -> str:
    """Tick labels under which the bars line up: 0s at the left, the run's length at the right."""
    cells = [" "] * width
    for tick in range(AXIS_TICKS + 1):
        column = min(round(tick * (width - 1) / AXIS_TICKS), width - 1)
        text = f"{tick * total / AXIS_TICKS:.0f}s"
        start = max(0, min(column, width - len(text)))
        cells[start : start + len(text)] = list(text)
    return "".join(cells).rstrip()


def _fit(label: str, width: int) -> str:
    return (label if len(label) <= width else label[: width - 1] + "…").ljust(width)
