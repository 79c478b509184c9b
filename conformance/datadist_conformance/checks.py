"""Failures of the target against a clause, and the outcome words the suite uses for skips."""

from __future__ import annotations

from typing import NoReturn

import pytest

__all__ = [
    "NOT_APPLICABLE",
    "UNTESTABLE",
    "UNTESTABLE_EVERYWHERE",
    "ConformanceFailure",
    "PreconditionError",
    "not_applicable",
    "untestable",
    "untestable_everywhere",
]

#: Prefixes of skip reasons; the plugin turns them into outcomes.
NOT_APPLICABLE = "not-applicable: "
UNTESTABLE = "untestable: "
UNTESTABLE_EVERYWHERE = "untestable everywhere: "


class ConformanceFailure(AssertionError):
    """The target does not do what a clause says. Carries what a report shows."""

    def __init__(
        self, clause_id: str, clause_text: str, call: str, expected: str, observed: str, replay: str
    ) -> None:
        self.clause_id = clause_id
        self.clause_text = clause_text
        self.call = call
        self.expected = expected
        self.observed = observed
        self.replay = replay
        super().__init__(
            f"[{clause_id}] {clause_text}\n"
            f"  call:     {call}\n"
            f"  expected: {expected}\n"
            f"  observed: {observed}\n"
            f"  replay:\n{_indent(replay)}"
        )


class PreconditionError(RuntimeError):
    """Setting up a check failed (the engine did not start, a needed call failed): outcome error."""

    def __init__(self, what: str, detail: str, replay: str) -> None:
        self.replay = replay
        super().__init__(f"precondition failed: {what}: {detail}\n  replay:\n{_indent(replay)}")


def not_applicable(reason: str) -> NoReturn:
    pytest.skip(NOT_APPLICABLE + reason)


def untestable(reason: str) -> NoReturn:
    """This target (its adapter, its configuration) gives the suite no way to check the clause."""
    pytest.skip(UNTESTABLE + reason)


def untestable_everywhere(reason: str) -> NoReturn:
    """The document gives no way to check the clause against any target."""
    pytest.skip(UNTESTABLE_EVERYWHERE + reason)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())
