"""What reports need from the spec and from a run, looked up by clause and API id.

Results may be older or newer than the spec they are rendered with, so every
lookup tolerates ids the spec does not know: the report then shows the bare id
instead of failing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..results import RunResult, TestResult
from ..speclib import Spec
from .outcomes import rollup

__all__ = [
    "Catalogue",
    "ClauseInfo",
    "api_outcomes",
    "clause_outcomes",
    "judged_apis",
    "judged_clauses",
]


@dataclass(frozen=True)
class ClauseInfo:
    """A clause as reports show it."""

    id: str
    api_id: str
    en: str
    zh: str | None
    untestable: str | None  #: why the spec says it cannot be tested, if it says so
    errata: tuple[str, ...]
    known: bool  #: False when the spec has no clause with this id


def _plain(text: str) -> str:
    """Spec text as plain text: the seed's ``<br>`` line breaks become newlines."""
    return re.sub(r"\s*<br\s*/?>\s*", "\n", text).strip()


class Catalogue:
    """Clause texts and API order from the spec, plus whatever the runs name beyond it."""

    def __init__(self, spec: Spec | None) -> None:
        self.spec_hash = spec.content_hash if spec else ""
        self._clauses: dict[str, ClauseInfo] = {}
        self._api_clauses: dict[str, list[str]] = {}
        self._product_names: dict[str, str] = {}
        for api in spec.apis if spec else ():
            self._api_clauses[api.id] = [clause.id for clause in api.clauses]
            for clause in api.clauses:
                self._clauses[clause.id] = ClauseInfo(
                    id=clause.id,
                    api_id=api.id,
                    en=_plain(clause.text.en),
                    zh=_plain(clause.text.zh) if clause.text.zh else None,
                    untestable=clause.untestable.strip() if clause.untestable else None,
                    errata=clause.errata,
                    known=True,
                )
        for product in spec.products if spec else ():
            self._product_names[product.id] = product.name

    def clause(self, clause_id: str) -> ClauseInfo:
        known = self._clauses.get(clause_id)
        if known is not None:
            return known
        return ClauseInfo(clause_id, "", "", None, None, (), known=False)

    def product_name(self, product_id: str, fallback: str = "") -> str:
        return self._product_names.get(product_id, fallback or product_id)

    def api_ids(self, runs: Iterable[RunResult] = ()) -> list[str]:
        """Every API of the spec, in spec order, then any other API the runs name, sorted."""
        extra = {api for run in runs for test in run.tests for api in test.apis}
        return [*self._api_clauses, *sorted(extra - self._api_clauses.keys())]

    def clause_ids(self, api_id: str, tests: Sequence[TestResult] = ()) -> list[str]:
        """The clauses of ``api_id`` in spec order, then any others the tests name under it."""
        listed = self._api_clauses.get(api_id, [])
        extra = {
            clause
            for test in tests
            if api_id in test.apis
            for clause in test.clauses
            if self.clause(clause).api_id in ("", api_id) and clause not in listed
        }
        return [*listed, *sorted(extra)]


def judged_clauses(test: TestResult) -> list[str]:
    """The clauses a test's outcome speaks for.

    A failing test that names the clause whose check failed (``failed_clause``)
    speaks only for that one: a state machine checking ten clauses that trips on
    one has not shown the other nine broken.
    """
    return test.failing_clauses or list(test.clauses)


def judged_apis(test: TestResult, catalogue: Catalogue) -> list[str]:
    """The APIs a test's outcome speaks for: those of its judged clauses, as far as known."""
    if test.failing_clauses and test.failed_clause:
        api = catalogue.clause(test.failed_clause).api_id
        if api:
            return [api]
    return list(test.apis)


def clause_outcomes(run: RunResult) -> dict[str, str]:
    """Clause id -> the rolled-up outcome of the tests that check it."""
    seen: dict[str, list[str]] = {}
    for test in run.tests:
        for clause in judged_clauses(test):
            # A clause the test carries but never exercised was not checked by it.
            outcome = "untestable" if clause in test.unexercised else test.outcome
            seen.setdefault(clause, []).append(outcome)
    return {clause: rollup(outcomes) for clause, outcomes in seen.items()}


def api_outcomes(run: RunResult, catalogue: Catalogue) -> dict[str, str]:
    """API id -> the rolled-up outcome of the tests that exercise it."""
    seen: dict[str, list[str]] = {}
    for test in run.tests:
        for api in judged_apis(test, catalogue):
            seen.setdefault(api, []).append(test.outcome)
    return {api: rollup(outcomes) for api, outcomes in seen.items()}
