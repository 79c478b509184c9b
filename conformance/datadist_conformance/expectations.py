"""Expected failures: a YAML file of tests a target is known to fail, each with a reason.

::

    expectations:
      - clause: allocate_cache.keys.duplicate_last_wins      # every test of the clause
        reason: "rejects duplicate keys (E-duplicate-keys-vendor-rejects)"
        products: [atlas-a3]                                  # optional; default every line
      - test: "test_clause_property[copy_cache.bounds]"      # one test
        reason: "..."

A test's failure is reported ``expected-fail`` only when it fails on exactly the
entry's clause (a test may carry several), or, for a ``test`` entry, when that test
fails; any other failure stays a failure. When a matching test passes, the entry is
reported as stale rather than silently passed; an entry matching no test, as unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["Expectation", "ExpectationError", "load_expectations"]


#: Keys of an entry; vendor_behaviour, source and evidence document a bundled vendor entry.
_KEYS = {"clause", "test", "reason", "products", "vendor_behaviour", "source", "evidence"}


class ExpectationError(ValueError):
    """The expectations file is malformed."""


@dataclass(frozen=True)
class Expectation:
    reason: str
    clause: str | None = None
    test: str | None = None
    products: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"clause {self.clause}" if self.clause else f"test {self.test}"

    def matches(self, test_name: str, clauses: list[str], product: str) -> bool:
        """Whether the entry names this test, or one of the clauses it carries."""
        if self.products and product not in self.products:
            return False
        if self.test is not None:
            return test_name == self.test
        return self.clause in clauses

    def covers(self, test_name: str, failed_clause: str, product: str) -> bool:
        """Whether a failure of this test on ``failed_clause`` is the one the entry expects."""
        if self.products and product not in self.products:
            return False
        if self.test is not None:
            return test_name == self.test
        return self.clause == failed_clause


def load_expectations(path: Path) -> list[Expectation]:
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ExpectationError(f"{path}: {exc}") from exc
    entries = doc.get("expectations") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise ExpectationError(f"{path}: expected a mapping with a list under 'expectations'")
    result = []
    for index, entry in enumerate(entries):
        where = f"{path}: expectations[{index}]"
        if not isinstance(entry, dict) or set(entry) - _KEYS:
            raise ExpectationError(f"{where}: keys are clause or test, reason, products")
        if ("clause" in entry) == ("test" in entry):
            raise ExpectationError(f"{where}: give exactly one of clause and test")
        if not isinstance(entry.get("reason"), str) or not entry["reason"].strip():
            raise ExpectationError(f"{where}: every expectation needs a reason")
        products = entry.get("products", [])
        if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
            raise ExpectationError(f"{where}: products is a list of product ids")
        result.append(
            Expectation(entry["reason"], entry.get("clause"), entry.get("test"), tuple(products))
        )
    return result
