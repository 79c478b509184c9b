"""What a certificate says about one product line, and the exit status of a run.

A line is **certified** only when every applicable clause was checked and held. A verdict
never claims more than the evidence:

- ``not certified``: an applicable test failed or errored, or the run crashed;
- ``no evidence``: nothing failed, but no test passed either (nothing was checked);
- ``partial``: nothing failed, but some applicable clauses could not be checked against this
  target (the adapter lacks a capability, or a test never exercised a clause it carries);
- ``certified``: every applicable clause was checked. Clauses the document itself leaves
  uncheckable against any target (``untestable`` in the spec) are listed, but cannot be
  supplied by any target, so they do not make a line partial.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .results import RunResult

__all__ = [
    "CERTIFIED",
    "NOT_CERTIFIED",
    "NO_EVIDENCE",
    "PARTIAL",
    "VERDICTS",
    "Exit",
    "exit_status",
    "unchecked_clauses",
    "verdict_of",
    "verdict_text",
]

CERTIFIED = "certified"
PARTIAL = "partial"
NO_EVIDENCE = "no evidence"
NOT_CERTIFIED = "not certified"
#: Every verdict, best first.
VERDICTS = (CERTIFIED, PARTIAL, NO_EVIDENCE, NOT_CERTIFIED)


class Exit(enum.IntEnum):
    """Exit status of `datadist-conformance run` (documented in README and ``--help``)."""

    CERTIFIED = 0  #: every requested line certified
    NOT_CERTIFIED = (
        1  #: some line failed, errored or crashed (or is partial under --require-complete)
    )
    USAGE = 2  #: bad arguments, unknown test ids, nothing collected, target or adapter not loadable
    PARTIAL = 3  #: nothing failed, some line is certified with untestable clauses
    NO_EVIDENCE = 4  #: nothing failed, but some line had no test that passed
    CRASH = 5  #: the suite itself failed (a bug of the suite, not a verdict on the target)


def unchecked_clauses(run: RunResult) -> list[str]:
    """Applicable clauses that this target's run could not check (what makes a line partial)."""
    unchecked: set[str] = set()
    for test in run.tests:
        if test.outcome == "untestable" and not test.untestable_everywhere:
            unchecked.update(test.clauses)
        unchecked.update(test.unexercised)
    return sorted(unchecked)


def verdict_of(run: RunResult) -> str:
    """One of :data:`VERDICTS`."""
    if run.crashed or any(t.outcome in ("fail", "error") for t in run.tests):
        return NOT_CERTIFIED
    if not any(t.outcome == "pass" for t in run.tests):
        return NO_EVIDENCE
    if unchecked_clauses(run):
        return PARTIAL
    return CERTIFIED


def verdict_text(run: RunResult) -> str:
    """The verdict in words, e.g. ``certified with 3 untestable clauses (partial)``."""
    verdict = verdict_of(run)
    if verdict == PARTIAL:
        count = len(unchecked_clauses(run))
        return f"certified with {count} untestable clause{'' if count == 1 else 's'} (partial)"
    if verdict == NO_EVIDENCE:
        return "no evidence (no test passed)"
    return "NOT certified" if verdict == NOT_CERTIFIED else CERTIFIED


def exit_status(runs: Iterable[RunResult], *, require_complete: bool = False) -> Exit:
    """The run's exit status: the worst verdict among its lines decides."""
    verdicts = {verdict_of(run) for run in runs}
    if NOT_CERTIFIED in verdicts:
        return Exit.NOT_CERTIFIED
    if NO_EVIDENCE in verdicts or not verdicts:
        return Exit.NO_EVIDENCE
    if PARTIAL in verdicts:
        return Exit.NOT_CERTIFIED if require_complete else Exit.PARTIAL
    return Exit.CERTIFIED
