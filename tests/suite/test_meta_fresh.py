"""Meta-tests: each fresh single-rule target is caught at profile ``ci`` by the tests of its rule.

The fresh targets (fresh/) were written after the suite, from the document, each
breaking one sentence or one integrity rule of llm_datadist_alt. Each runs
against the tests that check the clauses of its rule (CAUGHT_BY), at the
profile vendors certify with, and must not be certified; a failure must be
reported as a failure with its replay (shrinking is bounded), never lost as a
timed-out error. `python tests/suite/fresh/measure.py` runs the whole suite
against every fresh target instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datadist_conformance.coverage import collect_tests, coverage
from datadist_conformance.runner import RunOptions, run_product
from datadist_conformance.speclib import load_spec

from .conftest import FRESH_DIR, failures_text, module_constants

SEED = 20261202
FRESH = sorted(FRESH_DIR.glob("llm_datadist_fresh_*.py"))


@pytest.fixture(scope="module")
def tests_of() -> dict[str, list[str]]:
    return coverage(load_spec(), collect_tests()).tests_of


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
@pytest.mark.parametrize(
    "path", FRESH, ids=[p.stem.removeprefix("llm_datadist_fresh_") for p in FRESH]
)
def test_fresh_target_is_caught_by_the_tests_of_its_rule(
    path: Path, tmp_path: Path, tests_of: dict[str, list[str]]
) -> None:
    clauses = module_constants(path)["CAUGHT_BY"]
    only = tuple(sorted({test for clause in clauses for test in tests_of[clause]}))
    options = RunOptions(impl=path.stem, profile="ci", seed=SEED, only=only, test_timeout=60)
    run = run_product("atlas-a3", options, tmp_path)
    assert not run.certified, f"{path.stem} was certified by {list(only)}"
    errors = [t for t in run.tests if t.outcome == "error"]
    assert not errors, f"failures lost as errors:\n{failures_text(run)}"
    assert all(t.replay.startswith("# Replay against") for t in run.tests if t.outcome == "fail")
