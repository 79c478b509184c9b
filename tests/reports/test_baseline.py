"""reports/baseline is the reference's current behaviour, holds nothing volatile, and says how
to regenerate it when it is not.

Only the spec hash and the outcome of every test id decide whether the baseline is current:
messages, example counts and the implementation's version may change without a test failing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from datadist_conformance.reports import load_result_set
from datadist_conformance.reports.baseline import (
    BASELINE_DIR,
    BASELINE_PROFILE,
    BASELINE_SEED,
    REFERENCE,
    REGENERATE,
    scrub,
    stale_lines,
    write_baseline,
)
from datadist_conformance.reports.index import render_index_json
from datadist_conformance.results import RunResult
from datadist_conformance.runner import RunOptions, run_products
from datadist_conformance.speclib import LEVELS, Spec

BASELINE_ROOT = Path(__file__).resolve().parents[2] / BASELINE_DIR
MAX_SHOWN = 25
HOW = f"regenerate it from the repository root with:\n    {REGENERATE}"


@pytest.fixture(scope="module", params=LEVELS)
def level(request: pytest.FixtureRequest) -> str:
    """Each certification level has its own baseline."""
    return str(request.param)


@pytest.fixture(scope="module")
def baseline(level: str) -> dict[str, RunResult]:
    directory = BASELINE_ROOT / level
    assert directory.is_dir(), f"{directory} is missing; {HOW}"
    return load_result_set(directory)


def test_baseline_covers_every_product_line_with_the_current_spec(
    baseline: dict[str, RunResult], spec: Spec, level: str
) -> None:
    assert sorted(baseline) == sorted(p.id for p in spec.products), f"product lines differ; {HOW}"
    for product_id, run in baseline.items():
        assert run.spec_hash == spec.content_hash, (
            f"{BASELINE_DIR}/{product_id} was made with spec {run.spec_hash[:12]}, "
            f"the spec is now {spec.content_hash[:12]}; {HOW}"
        )
        assert run.implementation["module"] == REFERENCE
        assert (run.profile, run.seed, run.level) == (BASELINE_PROFILE, BASELINE_SEED, level)


def test_baseline_holds_nothing_volatile(baseline: dict[str, RunResult]) -> None:
    for run in baseline.values():
        assert run == scrub(run), f"{run.product['id']} holds timestamps or durations; {HOW}"


def test_baseline_index_matches_its_results(
    baseline: dict[str, RunResult], spec: Spec, level: str
) -> None:
    files = {"results": "results.json", "summary": "summary.md"}
    expected = render_index_json(list(baseline.values()), spec, files)
    index = BASELINE_ROOT / level / "index.json"
    assert index.read_text("utf-8") == expected, f"{level}/index.json is stale; {HOW}"


def test_the_baseline_holds_exactly_the_levels() -> None:
    assert sorted(p.name for p in BASELINE_ROOT.iterdir() if p.is_dir()) == sorted(LEVELS), HOW


@pytest.mark.slow
def test_baseline_is_what_the_reference_does_now(
    baseline: dict[str, RunResult], tmp_path: Path, level: str
) -> None:
    options = RunOptions(impl=REFERENCE, profile=BASELINE_PROFILE, seed=BASELINE_SEED, level=level)
    fresh = run_products(sorted(baseline), options, tmp_path)
    problems = stale_lines(baseline, {run.product["id"]: run for run in fresh})
    problems = [
        f"{r.product['id']}: the run crashed: {r.crashed}" for r in fresh if r.crashed
    ] + problems
    regressed = any(" regressed " in problem for problem in problems)
    shown = problems[:MAX_SHOWN] + [f"... and {len(problems) - MAX_SHOWN} more"] * (
        len(problems) > MAX_SHOWN
    )
    lead = (
        "the reference regressed against the baseline: fix it, or if the change is intended, "
        if regressed
        else f"{BASELINE_DIR} is out of date: "
    )
    assert problems == [], lead + HOW + "\n" + "\n".join(shown)


def test_stale_lines_compare_only_spec_hash_and_outcomes(a3_run: RunResult) -> None:
    moved = scrub(a3_run)
    moved.tests[0].message = "reworded"
    moved.tests[0].examples = 99
    moved.implementation = {**moved.implementation, "version": "9.9"}
    assert stale_lines({"atlas-a3": a3_run}, {"atlas-a3": moved}) == []
    moved.tests[0].outcome = "error"
    moved.spec_hash = "0" * 64
    assert stale_lines({"atlas-a3": a3_run}, {"atlas-a3": moved}) == [
        "atlas-a3: spec hash acc20b8e064c in the baseline, 000000000000 now",
        "atlas-a3: regressed clauses::allocate_cache.keys.duplicate_last_wins (expected-fail -> error)",
    ]


def test_write_baseline_is_deterministic_and_prunes_old_lines(
    a3_run: RunResult, na_run: RunResult, tmp_path: Path, spec: Spec
) -> None:
    write_baseline(tmp_path, [a3_run, na_run], spec)
    first = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    write_baseline(tmp_path, [a3_run], spec)
    assert not (tmp_path / "atlas-a2-training").exists()
    write_baseline(tmp_path, [a3_run, na_run], spec)
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == first
    assert "2025-11-27" not in (tmp_path / "atlas-a3" / "results.json").read_text("utf-8")
