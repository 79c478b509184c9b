"""What a run prints: progress while it works, and a short verdict per product line at the end.

Colour is used only on a terminal, and never when NO_COLOR is set
(https://no-color.org convention).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TextIO

from ..results import OUTCOMES, RunResult
from .facts import plural
from .outcomes import LABELS

__all__ = ["print_progress", "print_summary", "progress_line", "use_colour"]

_ANSI = {"green": "32", "red": "31", "yellow": "33", "dim": "2", "bold": "1"}
_OUTCOME_COLOUR = {
    "pass": "green",
    "fail": "red",
    "error": "red",
    "expected-fail": "dim",
    "untestable": "yellow",
    "not-applicable": "dim",
}
#: How many failing clauses a summary line names before it says "and N more".
MAX_CLAUSES_SHOWN = 8


def use_colour(stream: TextIO) -> bool:
    """True on a terminal, unless NO_COLOR is set."""
    return not os.environ.get("NO_COLOR") and _is_terminal(stream)


def _is_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _paint(text: str, colour: str, on: bool) -> str:
    return f"\x1b[{_ANSI[colour]}m{text}\x1b[0m" if on else text


def progress_line(product_id: str, family: str, done: int, total: int) -> str:
    """``[atlas-a3] lifecycle   12/40  30%``: where a run is, in one line."""
    percent = 100 * done // total if total else 100
    width = len(str(total))
    return f"[{product_id}] {family:<10} {done:>{width}}/{total}  {percent:>3}%"


def print_progress(stream: TextIO, product_id: str, family: str, done: int, total: int) -> None:
    """Progress that redraws one line on a terminal and appends a line per call in CI logs.

    The runner calls it when a family of tests is done, so a log gets a few lines
    per product line, never one per test.
    """
    line = progress_line(product_id, family, done, total)
    if _is_terminal(stream):
        stream.write(f"\r\x1b[2K{line}" + ("\n" if done >= total else ""))
    else:
        stream.write(line + "\n")
    stream.flush()


def _counts_text(run: RunResult, colour: bool) -> str:
    counts = run.counts
    parts = [
        _paint(f"{counts[o]} {LABELS[o]}", _OUTCOME_COLOUR[o], colour and bool(counts[o]))
        for o in OUTCOMES
        if counts[o]
    ]
    return ", ".join(parts) or "no tests"


def print_summary(runs: Iterable[RunResult], stream: TextIO) -> None:
    """Per product line: the verdict, tests per outcome, and the failing clause IDs."""
    runs = list(runs)
    colour = use_colour(stream)
    width = max((len(run.product["id"]) for run in runs), default=0)
    for run in runs:
        verdict = "certified" if run.certified else "NOT certified"
        painted = _paint(f"{verdict:<13}", "green" if run.certified else "red", colour)
        stream.write(
            f"{run.product['id']:<{width}}  {painted}  {_counts_text(run, colour)}"
            f"  ({plural(len(run.tests), 'test')})\n"
        )
        if run.crashed:
            stream.write(f"{'':<{width}}  crashed: {run.crashed}\n")
        failing = run.failing_clauses
        if failing:
            shown = ", ".join(failing[:MAX_CLAUSES_SHOWN])
            more = len(failing) - MAX_CLAUSES_SHOWN
            extra = f" and {more} more" if more > 0 else ""
            stream.write(f"{'':<{width}}  failing clauses: {shown}{extra}\n")
    certified = sum(run.certified for run in runs)
    total = len(runs)
    levels = sorted({run.level for run in runs})
    line = f"{certified} of {plural(total, 'product line')} certified (level {', '.join(levels)})"
    stream.write(_paint(line, "bold", colour) + "\n")
