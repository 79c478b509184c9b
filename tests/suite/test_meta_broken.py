"""Meta-tests: each deliberately broken target is caught on exactly the clause it violates.

Every module in broken/ wraps one behaviour of the reference and declares the
clauses it violates (VIOLATES). The suite runs against it in its own process,
as `datadist-conformance run` would, and must report failures on those clauses
and on no other.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datadist_conformance.runner import RunOptions, run_product

from .conftest import BROKEN_DIR, failures_text, module_constants

SEED = 20261127
BROKEN = sorted(
    p for p in BROKEN_DIR.glob("llm_datadist_broken_*.py") if "HANGS" not in module_constants(p)
)


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
@pytest.mark.parametrize(
    "path", BROKEN, ids=[p.stem.removeprefix("llm_datadist_broken_") for p in BROKEN]
)
def test_broken_target_fails_exactly_its_clause(path: Path, tmp_path: Path) -> None:
    constants = module_constants(path)
    product = constants.get("PRODUCT", "atlas-a3")  # the line on which the target misbehaves
    run = run_product(product, RunOptions(impl=path.stem, profile="quick", seed=SEED), tmp_path)
    assert set(run.failing_clauses) == constants["VIOLATES"], (
        f"{path.stem} violates {sorted(constants['VIOLATES'])}; the suite reported "
        f"{run.failing_clauses}:\n{failures_text(run)}"
    )
    assert not run.certified
    if constants.get("CRASHES"):
        assert "SIGSEGV" in run.crashed, run.crashed
        crashed = [t for t in run.tests if t.outcome == "error"]
        assert crashed
        assert "crashed" in crashed[0].message
    else:
        assert not run.crashed, run.crashed
        failures = [t for t in run.tests if t.outcome == "fail"]
        assert all(t.replay.startswith("# Replay against") for t in failures)


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_a_hanging_target_is_stopped_and_reported(tmp_path: Path) -> None:
    options = RunOptions(
        impl="llm_datadist_broken_hang",
        profile="quick",
        seed=SEED,
        only=("test_clause_property[copy_blocks.copies]", "test_clause[copy_blocks.signature]"),
        test_timeout=3,
    )
    run = run_product("atlas-a3", options, tmp_path)
    outcomes = {t.id: t.outcome for t in run.tests}
    assert outcomes == {
        "test_clause_property[copy_blocks.copies]": "error",
        "test_clause[copy_blocks.signature]": "pass",
    }, outcomes
    assert "hung" in run.crashed
