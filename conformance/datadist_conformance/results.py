"""The result of one certification run: one implementation on one product line.

`datadist-conformance run` writes one :class:`RunResult` per product line as
``<out>/<product>/results.json`` (validated by ``schemas/results.schema.json``);
every report (JUnit, Markdown, HTML, index, diff) is rendered from these files.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import verdicts

__all__ = [
    "APPLICABLE_FAILURES",
    "OUTCOMES",
    "RESULTS_FORMAT_VERSION",
    "RunResult",
    "TestResult",
    "load_run",
]

RESULTS_FORMAT_VERSION = 1

#: Every outcome a test can have, in report order.
OUTCOMES = ("pass", "fail", "error", "expected-fail", "untestable", "not-applicable")

#: Outcomes that stop a product line from being certified.
APPLICABLE_FAILURES = frozenset({"fail", "error"})


@dataclass
class TestResult:
    """One test of the suite, and what it found."""

    __test__ = False  # not a pytest test class, whatever its name

    id: str  #: stable test id, e.g. "clauses::allocate_cache.keys.placeholder"
    family: str  #: surface | negative | lifecycle | data | config | products | stateful
    clauses: list[str]  #: the spec clause IDs the test checks
    apis: list[str]  #: the API entries those clauses belong to
    outcome: str  #: one of OUTCOMES
    duration: float  #: seconds
    message: str = ""  #: why it failed / was skipped; "" on pass
    replay: str = ""  #: Python that reproduces the failure against the same target
    call: str = ""  #: the call that misbehaved
    expected: str = ""
    observed: str = ""
    examples: int | None = None  #: hypothesis examples run, when it is a property test
    stale_expectation: str = ""  #: the expectation entry's reason, when it no longer fails
    failed_clause: str = ""  #: on fail, the clause whose check failed (a test may check several)
    #: untestable because the document gives no way to check the clause on any target
    untestable_everywhere: bool = False
    #: clauses the test carries but did not exercise in this run: untestable for this test
    unexercised: list[str] = field(default_factory=list)
    #: clause id -> how many times the test checked it, for tests that count (the machine)
    exercised: dict[str, int] = field(default_factory=dict)

    @property
    def failing_clauses(self) -> list[str]:
        """The clauses this test shows violated: the failed check's, else all it checks."""
        if self.outcome not in APPLICABLE_FAILURES:
            return []
        return [self.failed_clause] if self.failed_clause else list(self.clauses)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunResult:
    """Everything a report needs about one implementation on one product line."""

    suite_version: str
    spec_hash: str
    implementation: dict[str, str]  #: module, name, version, adapter
    product: dict[str, Any]  #: id, name, name_en, feature_sets {id: supported}
    profile: str
    seed: int
    started: str  #: ISO 8601, UTC
    finished: str
    tests: list[TestResult] = field(default_factory=list)
    unused_expectations: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    crashed: str = ""  #: non-empty when the target process died; says how
    level: str = "document"  #: certification level: document or as-shipped (speclib.LEVELS)
    format_version: int = RESULTS_FORMAT_VERSION

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(test.outcome for test in self.tests)
        return {outcome: counter.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def verdict(self) -> str:
        """certified, partial, no evidence or not certified (see :mod:`.verdicts`)."""
        return verdicts.verdict_of(self)

    @property
    def certified(self) -> bool:
        """Every applicable clause was checked and held, and the run finished."""
        return self.verdict == verdicts.CERTIFIED

    @property
    def unchecked_clauses(self) -> list[str]:
        """Applicable clauses this run could not check against the target."""
        return verdicts.unchecked_clauses(self)

    @property
    def failing_clauses(self) -> list[str]:
        return sorted({c for t in self.tests for c in t.failing_clauses})

    def families(self) -> dict[str, dict[str, float]]:
        """Per test family: tests, hypothesis examples and seconds."""
        table: dict[str, dict[str, float]] = {}
        for test in self.tests:
            row = table.setdefault(test.family, {"tests": 0, "examples": 0, "seconds": 0.0})
            row["tests"] += 1
            row["examples"] += test.examples or 0
            row["seconds"] += test.duration
        return table

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["summary"] = self.counts
        data["verdict"] = self.verdict
        data["certified"] = self.certified
        data["unchecked_clauses"] = self.unchecked_clauses
        data["failing_clauses"] = self.failing_clauses
        data["families"] = self.families()
        return data

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, indent=2) + "\n", "utf-8")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunResult:
        derived = {
            "summary",
            "verdict",
            "certified",
            "unchecked_clauses",
            "failing_clauses",
            "families",
        }
        fields = {k: v for k, v in data.items() if k not in derived}
        fields["tests"] = [TestResult(**t) for t in data.get("tests", ())]
        return cls(**fields)


def load_run(path: Path) -> RunResult:
    """Read a results.json written by :meth:`RunResult.write`."""
    return RunResult.from_json(json.loads(path.read_text("utf-8")))


def index_runs(runs: Iterable[RunResult]) -> dict[str, RunResult]:
    """Runs keyed by product id."""
    return {run.product["id"]: run for run in runs}
