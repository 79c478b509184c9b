"""The runner's outcome words, through real runs: expected-fail, stale expectations, untestable."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from datadist_conformance.runner import RunOptions, TargetLoadError, run_product

DUPLICATE = "allocate_cache.keys.duplicate_last_wins"
ONLY = (
    f"test_clause_property[{DUPLICATE}]",
    "test_clause_property[copy_cache.bounds]",
    "test_clause[copy_cache.raises.timeout]",
    "test_clause[copy_cache.signature]",
)


def _expectations(tmp_path: Path) -> Path:
    path = tmp_path / "expectations.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "expectations": [
                    {"clause": DUPLICATE, "reason": "first occurrence wins here"},
                    {
                        "test": "test_clause_property[copy_cache.bounds]",
                        "reason": "thought broken, is not",
                    },
                    {
                        "clause": "copy_blocks.copies",
                        "reason": "not in this run",
                        "products": ["atlas-a3"],
                    },
                ]
            }
        )
    )
    return path


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_expected_failures_and_stale_expectations(tmp_path: Path) -> None:
    options = RunOptions(
        impl="llm_datadist_broken_duplicates",
        profile="quick",
        seed=7,
        expectations=_expectations(tmp_path),
        only=ONLY,
    )
    run = run_product("atlas-a3", options, tmp_path / "out")
    tests = {t.id: t for t in run.tests}
    assert tests[ONLY[0]].outcome == "expected-fail"
    assert "first occurrence wins here" in tests[ONLY[0]].message
    assert tests["test_clause_property[copy_cache.bounds]"].outcome == "pass"
    assert tests[
        "test_clause_property[copy_cache.bounds]"
    ].stale_expectation  # reported, not silently passed
    assert run.unused_expectations == ["clause copy_blocks.copies: not in this run"]
    assert run.certified  # an expected failure does not block certification


@pytest.mark.slow
def test_capabilities_the_adapter_lacks_make_clauses_untestable(tmp_path: Path) -> None:
    options = RunOptions(
        impl="llm_datadist_ref",
        adapter="datadist_conformance.adapter:Adapter",
        profile="quick",
        seed=7,
        only=ONLY[1:],
    )
    run = run_product("atlas-a3", options, tmp_path)
    tests = {t.id: t for t in run.tests}
    assert tests["test_clause[copy_cache.raises.timeout]"].outcome == "untestable"
    assert "fault_injection" in tests["test_clause[copy_cache.raises.timeout]"].message
    assert tests["test_clause_property[copy_cache.bounds]"].outcome == "pass"
    assert run.implementation["adapter"] == "datadist_conformance.adapter:Adapter"


def test_a_target_that_cannot_be_imported_is_reported(tmp_path: Path) -> None:
    with pytest.raises(TargetLoadError, match="No module named 'no_such_target_module'"):
        run_product(
            "atlas-a3", RunOptions(impl="no_such_target_module", profile="quick", seed=1), tmp_path
        )


@pytest.mark.slow
def test_a_target_on_a_relative_import_path_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite's process runs elsewhere; the caller's relative PYTHONPATH still reaches the target."""
    monkeypatch.chdir(Path(__file__).parent)
    monkeypatch.setenv("PYTHONPATH", "alt_impl")
    options = RunOptions(
        impl="llm_datadist_alt",
        profile="quick",
        seed=7,
        only=("test_clause[copy_cache.signature]",),
    )
    run = run_product("atlas-a3", options, tmp_path)
    assert [(t.id, t.outcome) for t in run.tests] == [("test_clause[copy_cache.signature]", "pass")]
