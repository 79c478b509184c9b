"""How outcomes roll up, and how every report names and colours them.

A clause checked by several tests, or an API with many clauses, shows one
outcome: the most serious one among its tests, so a single failure is never
hidden behind passes, and an untested capability is never shown as a pass.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "COLOURS",
    "LABELS",
    "NO_TEST",
    "ROLLUP_ORDER",
    "SYMBOLS",
    "rollup",
]

#: Pseudo-outcome of a clause or API that no test of the run checks.
NO_TEST = "no-test"

#: Most serious first: what a roll-up of mixed outcomes shows.
ROLLUP_ORDER = (
    "fail",
    "error",
    "expected-fail",
    "untestable",
    "pass",
    "not-applicable",
    NO_TEST,
)

LABELS = {
    "pass": "pass",
    "fail": "fail",
    "error": "error",
    "expected-fail": "expected fail",
    "untestable": "untestable",
    "not-applicable": "not applicable",
    NO_TEST: "no test",
}

#: One character per outcome, for terminals and plain-text matrices.
SYMBOLS = {
    "pass": "✓",
    "fail": "✗",
    "error": "E",
    "expected-fail": "x",
    "untestable": "?",
    "not-applicable": "-",
    NO_TEST: " ",
}

#: Background colours of the HTML reports (light theme; readable with black text).
COLOURS = {
    "pass": "#8fd19e",
    "fail": "#f28b82",
    "error": "#f6b26b",
    "expected-fail": "#d7b9f0",
    "untestable": "#ffe38a",
    "not-applicable": "#d9dde3",
    NO_TEST: "#ffffff",
}


def rollup(outcomes: Iterable[str]) -> str:
    """The most serious of ``outcomes``; :data:`NO_TEST` when there are none."""
    present = set(outcomes)
    for outcome in ROLLUP_ORDER:
        if outcome in present:
            return outcome
    return NO_TEST
