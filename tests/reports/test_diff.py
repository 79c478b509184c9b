"""`report diff`: regressions exit non-zero, reruns tell flaky from broken, and every kind of
change between two result sets is named."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datadist_conformance.cli import main, report_cmd
from datadist_conformance.reports import diff_result_sets
from datadist_conformance.reports.diff import fresh_seeds
from datadist_conformance.results import RunResult

PLACEHOLDER = "clauses::allocate_cache.keys.placeholder"
RETURNS = "clauses::allocate_cache.returns.cache"

WriteSet = Callable[[Path, list[RunResult]], Path]
WithOutcome = Callable[[RunResult, str, str], RunResult]


class FakeRerun:
    """Stands in for datadist_conformance.runner.rerun: replays scripted outcomes."""

    def __init__(self, *rounds: dict[str, str], fresh: dict[str, str] | None = None) -> None:
        self.rounds = list(rounds)  #: the reruns with NEW's seed, in order
        self.fresh = fresh or {}  #: what every rerun after those (fresh seeds) returns
        self.calls: list[dict[str, Any]] = []

    def __call__(
        self,
        impl: str,
        product: str,
        test_ids: list[str],
        *,
        adapter: str | None,
        profile: str,
        seed: int,
        level: str = "document",
    ) -> dict[str, str]:
        self.calls.append(
            {
                "impl": impl,
                "product": product,
                "tests": test_ids,
                "adapter": adapter,
                "profile": profile,
                "seed": seed,
                "level": level,
            }
        )
        return self.rounds.pop(0) if self.rounds else self.fresh


@pytest.fixture
def sets(
    tmp_path: Path, runs: list[RunResult], write_set: WriteSet, with_outcome: WithOutcome
) -> tuple[Path, Path]:
    """OLD: the fixture runs. NEW: the same, with one pass planted as a failure on atlas-a3."""
    old = write_set(tmp_path / "old", runs)
    regressed = with_outcome(runs[0], RETURNS, "fail")
    new = write_set(tmp_path / "new", [regressed, *runs[1:]])
    return old, new


def run_diff(monkeypatch: pytest.MonkeyPatch, rerun: FakeRerun | None, *args: str) -> int:
    monkeypatch.setattr(report_cmd, "_runner_rerun", lambda: rerun)
    return main(["report", "diff", *args])


def test_planted_regression_exits_non_zero(
    sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sets
    rerun = FakeRerun({RETURNS: "fail"}, {RETURNS: "error"}, fresh={RETURNS: "fail"})
    assert run_diff(monkeypatch, rerun, str(old), str(new)) == 1
    out = capsys.readouterr().out
    first, second = fresh_seeds(20240601, 2)
    assert (
        f"REGRESSION  {RETURNS}  pass -> fail (reruns: fail, error; "
        f"fresh seeds: fail (seed {first}), fail (seed {second}))"
    ) in out
    assert "atlas-800i-a2: no changes" in out
    assert "Result: 1 regression on 1 product line: atlas-a3" in out
    call = {
        "impl": "llm_datadist_ref",
        "product": "atlas-a3",
        "tests": [RETURNS],
        "adapter": None,
        "profile": "ci",
        "level": "document",
    }
    seeds = [20240601, 20240601, first, second]
    assert rerun.calls == [{**call, "seed": seed} for seed in seeds]
    assert len(set(seeds)) == 3, "the fresh seeds differ from NEW's and from each other"


def test_a_failure_only_new_seed_triggers_is_a_seed_dependent_regression(
    sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sets
    rerun = FakeRerun({RETURNS: "fail"}, {RETURNS: "fail"}, fresh={RETURNS: "pass"})
    assert run_diff(monkeypatch, rerun, str(old), str(new)) == 1
    out = capsys.readouterr().out
    assert f"REGRESSION  {RETURNS}  pass -> fail (reruns: fail, fail; fresh seeds: pass" in out
    assert "; seed-dependent)" in out


def test_reruns_that_pass_make_it_flaky_not_a_regression(
    sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sets
    rerun = FakeRerun({RETURNS: "fail"}, {RETURNS: "pass"}, {RETURNS: "fail"})
    status = run_diff(
        monkeypatch,
        rerun,
        str(old),
        str(new),
        "--rerun",
        "3",
        "--impl",
        "vendor_dd",
        "--adapter",
        "pkg:Adapter",
    )
    assert status == 0
    out = capsys.readouterr().out
    assert f"FLAKY       {RETURNS}  pass -> fail (reruns: fail, pass, fail; fresh seeds:" in out
    assert "Result: no regressions" in out
    assert {(c["impl"], c["adapter"]) for c in rerun.calls} == {("vendor_dd", "pkg:Adapter")}


def test_rerun_zero_and_missing_runner_keep_the_regression(
    sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sets
    assert run_diff(monkeypatch, FakeRerun(), str(old), str(new), "--rerun", "0") == 1
    assert run_diff(monkeypatch, None, str(old), str(new)) == 1
    assert (
        "note: regressions were not rerun: no rerun function is available"
        in capsys.readouterr().out
    )


def test_a_rerun_that_raises_does_not_hide_the_regression(
    runs: list[RunResult], with_outcome: WithOutcome
) -> None:
    def broken(*_: object, **__: object) -> dict[str, str]:
        raise RuntimeError("target import failed")

    new = with_outcome(runs[0], RETURNS, "error")
    diff = diff_result_sets({"atlas-a3": runs[0]}, {"atlas-a3": new}, rerun=broken, times=2)
    product = diff.products[0]
    assert [c.test_id for c in product.regressions] == [RETURNS]
    assert product.notes == ["rerun failed (RuntimeError: target import failed); regressions stand"]


def test_expected_fail_to_fail_is_a_regression_and_fail_to_pass_a_fix(
    runs: list[RunResult], with_outcome: WithOutcome
) -> None:
    old = runs[0]
    new = with_outcome(old, "clauses::allocate_cache.keys.duplicate_last_wins", "fail")
    new = with_outcome(new, PLACEHOLDER, "pass")
    new = with_outcome(new, "clauses::allocate_cache.returns.cache", "untestable")
    product = diff_result_sets({"atlas-a3": old}, {"atlas-a3": new}, times=0).products[0]
    assert [(c.test_id, c.old, c.new) for c in product.regressions] == [
        ("clauses::allocate_cache.keys.duplicate_last_wins", "expected-fail", "fail")
    ]
    assert [(c.test_id, c.old, c.new) for c in product.fixes] == [(PLACEHOLDER, "fail", "pass")]
    assert [(c.test_id, c.new) for c in product.changed] == [(RETURNS, "untestable")]


def test_new_and_removed_tests_and_clauses(
    runs: list[RunResult], make_test: Callable[..., Any]
) -> None:
    old = runs[0]
    new = RunResult.from_json(old.to_json())
    new.tests = [t for t in new.tests if t.id != PLACEHOLDER]
    new.tests.append(
        make_test(
            "clauses::swap_blocks.swap_in",
            "pass",
            ["swap_blocks.swap_in"],
            ["CacheManager.swap_blocks"],
        )
    )
    new.spec_hash = "f" * 64
    product = diff_result_sets({"atlas-a3": old}, {"atlas-a3": new}).products[0]
    assert [c.test_id for c in product.new_tests] == ["clauses::swap_blocks.swap_in"]
    assert [(c.test_id, c.old) for c in product.removed_tests] == [(PLACEHOLDER, "fail")]
    assert product.new_clauses == ["swap_blocks.swap_in"]
    assert product.removed_clauses == [
        "allocate_cache.keys.count_within_batch",
        "allocate_cache.keys.placeholder",
    ]
    assert ("spec hash", "acc20b8e064c", "ffffffffffff") in product.metadata
    # A suite or target that silently drops a test (and its clauses) must not look green.
    assert product.regressed
    assert product.regression_count == 3


def test_crash_and_missing_line_are_regressions(
    tmp_path: Path,
    runs: list[RunResult],
    write_set: WriteSet,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a3, _, na = runs
    old = write_set(tmp_path / "old", [a3, na])
    new = write_set(tmp_path / "new", [a3])
    assert run_diff(monkeypatch, None, str(old), str(new)) == 1
    assert "atlas-a2-training: REGRESSION: no results in NEW" in capsys.readouterr().out

    na_crashed = RunResult.from_json(na.to_json())
    na_crashed.crashed = "killed by the OOM killer"
    diff = diff_result_sets({"atlas-a2-training": na}, {"atlas-a2-training": na_crashed})
    assert diff.regressed
    assert diff.regression_count == 1


def test_single_file_compares_only_its_line(
    sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = sets
    status = run_diff(monkeypatch, None, str(old), str(new / "atlas-a2-training" / "results.json"))
    assert status == 0
    out = capsys.readouterr().out
    assert "atlas-a2-training: no changes" in out
    assert "atlas-a3" not in out.split("NEW:")[1].split("\n", 1)[1]


def test_markdown_and_json_outputs(
    sets: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = sets
    md, js = tmp_path / "diff.md", tmp_path / "diff.json"
    run_diff(
        monkeypatch,
        FakeRerun({RETURNS: "fail"}, fresh={RETURNS: "fail"}),
        str(old),
        str(new),
        "--rerun",
        "1",
        "--markdown",
        str(md),
        "--json",
        str(js),
    )
    text = md.read_text("utf-8")
    assert "**❌ 1 regression on 1 product line: atlas-a3**" in text
    (seed,) = fresh_seeds(20240601, 1)
    assert (
        f"| regression | `{RETURNS}` | pass -\\> fail (reruns: fail; fresh seeds: fail (seed {seed})) "
        "| `allocate_cache.returns.cache` |"
    ) in text
    data = json.loads(js.read_text("utf-8"))
    assert data["regressed"] is True
    a3 = next(p for p in data["products"] if p["product"] == "atlas-a3")
    assert a3["regressions"] == [
        {
            "test": RETURNS,
            "old": "pass",
            "new": "fail",
            "clauses": ["allocate_cache.returns.cache"],
            "reruns": ["fail"],
            "fresh_seed_reruns": [{"seed": seed, "outcome": "fail"}],
        }
    ]


def test_identical_sets_exit_zero(
    sets: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    old, _ = sets
    assert run_diff(monkeypatch, None, str(old), str(old)) == 0
    out = capsys.readouterr().out
    assert out.count("no changes") == 3
    assert run_diff(monkeypatch, None, str(old), str(old), "--require-certified") == 3
    assert "not certified: atlas-a3, atlas-800i-a2" in capsys.readouterr().err


def test_unreadable_input_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "atlas-a3").mkdir()
    (tmp_path / "atlas-a3" / "results.json").write_text("{", "utf-8")
    assert run_diff(monkeypatch, None, str(tmp_path), str(tmp_path)) == 2
    assert "atlas-a3/results.json: cannot read results" in capsys.readouterr().err
