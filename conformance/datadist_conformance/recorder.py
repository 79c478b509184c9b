"""What one test of the suite did besides passing or failing: examples run, clauses exercised.

The plugin gives each test its own :class:`Recorder` (the ``recorder`` fixture) and reads it
into the test's result. A test that carries several clauses (the lifecycle machine) says which
it actually exercised; one it carries but never exercised in the run is reported untestable
for that test, never passed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["Recorder"]


@dataclass
class Recorder:
    test_id: str = ""  #: the running test's id, for the rerun line of replay snippets
    examples: int = 0  #: scenarios (hypothesis examples) run
    exercised: Counter[str] = field(default_factory=Counter)  #: clause id -> times checked
    unexercised: dict[str, str] = field(default_factory=dict)  #: clause id -> why not

    def example(self) -> None:
        self.examples += 1

    def exercise(self, clause_id: str) -> None:
        self.exercised[clause_id] += 1

    def require_exercised(self, clauses: Iterable[str], why: str) -> None:
        """Note every clause of ``clauses`` that this run never exercised, with ``why``
        (a reason noted first is kept)."""
        for clause_id in clauses:
            if not self.exercised[clause_id]:
                self.unexercised.setdefault(clause_id, why)
