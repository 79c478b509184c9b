"""What a run prints: progress while it works, and a short verdict per product line at the end.

Colour is used only on a terminal, and never when NO_COLOR is set
(https://no-color.org convention).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TextIO

from ..results import OUTCOMES, RunResult
from ..verdicts import CERTIFIED, PARTIAL, verdict_text
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
        verdict = verdict_text(run)
        hue = {CERTIFIED: "green", PARTIAL: "yellow"}.get(run.verdict, "red")
        stream.write(
            f"{run.product['id']:<{width}}  {_paint(verdict, hue, colour)}  "
            f"{_counts_text(run, colour)}  ({plural(len(run.tests), 'test')})\n"
        )
        indent = " " * width
        if run.crashed:
            stream.write(f"{indent}  crashed: {run.crashed}\n")
        for label, clauses in (
            ("failing clauses", run.failing_clauses),
            ("untestable clauses", run.unchecked_clauses),
        ):
            if clauses:
                stream.write(f"{indent}  {label}: {_first(clauses)}\n")
        for line in _expectation_notes(run):
            stream.write(f"{indent}  {_paint(line, 'yellow', colour)}\n")
    certified = sum(run.certified for run in runs)
    partial = sum(run.verdict == PARTIAL for run in runs)
    levels = sorted({run.level for run in runs})
    line = f"{certified} of {plural(len(runs), 'product line')} certified"
    line += f", {partial} partial" if partial else ""
    line += f" (level {', '.join(levels)})"
    stream.write(_paint(line, "bold", colour) + "\n")


def _first(items: list[str]) -> str:
    """The first few items, then "and N more"."""
    more = len(items) - MAX_CLAUSES_SHOWN
    return ", ".join(items[:MAX_CLAUSES_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _expectation_notes(run: RunResult) -> list[str]:
    """Expectation entries that matched no test, and entries whose tests now pass."""
    notes = [f"unused expectation: {entry}" for entry in run.unused_expectations]
    notes += [
        f"stale expectation: {test.id} passes ({test.stale_expectation})"
        for test in run.tests
        if test.stale_expectation
    ]
    return notes
