"""Meta-tests: a target that allows one engine per process is certified, and still judged.

The reference in one-engine mode ($LLM_DATADIST_REF_ONE_ENGINE=1) refuses a second initialized
LLMDataDist in a process with LLMException(LLM_FAILED), as the vendor package does. The suite
detects it (peer mode auto -> process), runs every DECODER in its helper process, and must
certify it on both supported lines with every clause that needs a peer passing; the broken
targets, run in the same mode, must still be caught on exactly their clause.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datadist_conformance.runner import RunOptions, run_product
from datadist_conformance.speclib import Spec, load_spec
from datadist_conformance.suite.gate import TEMPLATES

from .conftest import BROKEN_DIR, failures_text, module_constants

SEED = 20261202
ONE_ENGINE_ENV = "LLM_DATADIST_REF_ONE_ENGINE"
BROKEN = sorted(
    p
    for p in BROKEN_DIR.glob("llm_datadist_broken_*.py")
    # Crashing and hanging targets are judged in test_meta_broken; NEEDS_TWO_ENGINES targets break
    # a rule whose check needs a second engine in the test process (see each target).
    if not {"HANGS", "CRASHES", "NEEDS_TWO_ENGINES"} & set(module_constants(p))
)


@pytest.fixture
def one_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ONE_ENGINE_ENV, "1")


def _needs_peer(spec: Spec, clause_id: str) -> bool:
    clause = spec.clause(clause_id)
    api = spec.api(clause.api_id).name
    return "peer" in spec.clause_kind(clause.kind).requires or api.startswith(("pull_", "push_"))


def _test_id(spec: Spec, clause_id: str) -> str:
    template = TEMPLATES[spec.clause(clause_id).kind]
    return f"test_clause{'_property' if template.uses_hypothesis else ''}[{clause_id}]"


@pytest.mark.slow
@pytest.mark.usefixtures("one_engine")
@pytest.mark.parametrize("product", ["atlas-a3", "atlas-800i-a2"])
def test_one_engine_reference_is_certified_with_every_peer_clause_checked(
    product: str, tmp_path: Path
) -> None:
    spec = load_spec()
    run = run_product(
        product, RunOptions(impl="llm_datadist_ref", profile="quick", seed=SEED), tmp_path
    )
    assert run.implementation.get("peer_mode") == "process", (
        f"the suite did not detect the one-engine target: {run.implementation}"
    )
    assert run.certified, f"one-engine reference on {product}:\n{failures_text(run, replay=True)}"
    peer_tests = {
        t.id: t.outcome
        for t in run.tests
        if any(
            _needs_peer(spec, c)
            and spec.clause(c).checked_at("document")
            and not spec.clause(c).untestable
            for c in t.clauses
        )
    }
    assert "test_lifecycle_state_machine" in peer_tests
    assert len(peer_tests) >= 6, sorted(peer_tests)  # five clause tests and the machine, today
    not_passed = {name: outcome for name, outcome in peer_tests.items() if outcome != "pass"}
    assert not not_passed, f"clauses that need a peer did not pass: {not_passed}"
    untestable = [t.id for t in run.tests if t.outcome == "untestable"]
    # Only the clause no target can be checked against (E-push-cache-key-release).
    assert untestable in ([], ["test_clause[allocate_cache.refs.key_released_by_push]"]), untestable


@pytest.mark.slow
@pytest.mark.usefixtures("target_path", "one_engine")
@pytest.mark.parametrize(
    "path", BROKEN, ids=[p.stem.removeprefix("llm_datadist_broken_") for p in BROKEN]
)
def test_broken_one_engine_target_fails_exactly_its_clause(path: Path, tmp_path: Path) -> None:
    constants = module_constants(path)
    violates = constants["VIOLATES"]
    spec = load_spec()
    # The tests of the violated clauses and every test that needs a peer (not the whole
    # suite again: test_meta_broken does that in the default mode; this keeps CI short).
    wanted = violates | {c.id for c in spec.clauses() if _needs_peer(spec, c.id)}
    only = [
        _test_id(spec, c) for c in sorted(wanted) if spec.clause_kind(spec.clause(c).kind).testable
    ]
    options = RunOptions(
        impl=path.stem, profile="quick", seed=SEED, only=(*only, "test_lifecycle_state_machine")
    )
    # the line on which the target misbehaves (the gating targets: an unsupported one)
    run = run_product(constants.get("PRODUCT", "atlas-a3"), options, tmp_path)
    assert run.implementation.get("peer_mode") == "process", run.implementation
    assert set(run.failing_clauses) == violates, (
        f"{path.stem} (one engine per process) violates {sorted(violates)}; the suite reported "
        f"{run.failing_clauses}:\n{failures_text(run)}"
    )
    assert not run.crashed, run.crashed
