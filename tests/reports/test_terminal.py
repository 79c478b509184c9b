"""The end-of-run summary and the progress lines the runner prints."""

from __future__ import annotations

import copy
import io

import pytest

from datadist_conformance.reports import print_progress, print_summary, progress_line
from datadist_conformance.reports.outcomes import ROLLUP_ORDER, rollup
from datadist_conformance.results import OUTCOMES, RunResult

from .conftest import make_test


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_summary_states_verdict_counts_and_failing_clauses(runs: list[RunResult]) -> None:
    stream = io.StringIO()
    print_summary(runs, stream)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith(
        "atlas-a3           NOT certified  2 pass, 1 fail, 1 error, 1 expected fail"
    )
    assert lines[0].endswith("(7 tests)")
    assert lines[1:5] == [
        "                   failing clauses: allocate_cache.keys.count_within_batch, "
        "allocate_cache.keys.placeholder, copy_cache.size.range",
        "                   untestable clauses: allocate_cache.raises.timeout",
        # Expectations that matched nothing, or whose test now passes, are not left to summary.md.
        "                   unused expectation: clauses::swap_blocks.gone",
        "                   stale expectation: clauses::mem_pool_cfg.page_alignment passes "
        "(alignment rounds down (ISSUE-12))",
    ]
    assert lines[6] == "                   crashed: target process died with SIGSEGV (exit -11)"
    assert lines[7].startswith("atlas-a2-training  certified ")
    assert lines[-1] == "1 of 3 product lines certified (level document)"
    assert "\x1b[" not in stream.getvalue()


def test_summary_names_partial_and_no_evidence_verdicts(na_run: RunResult) -> None:
    partial = copy.deepcopy(na_run)
    partial.tests.append(
        make_test("clauses::copy_cache.copies", "untestable", ["copy_cache.copies"], ["c"])
    )
    everywhere = copy.deepcopy(na_run)
    everywhere.tests.append(
        make_test("clauses::x", "untestable", ["x.y"], ["c"], untestable_everywhere=True)
    )
    nothing = copy.deepcopy(na_run)
    nothing.tests = [t for t in nothing.tests if t.outcome != "pass"]
    stream = io.StringIO()
    print_summary([partial, everywhere, nothing], stream)
    lines = stream.getvalue().splitlines()
    assert "certified with 1 untestable clause (partial)" in lines[0]
    assert lines[1].endswith("untestable clauses: copy_cache.copies")
    assert lines[2].startswith("atlas-a2-training  certified  ")  # the document's own gap
    assert "no evidence (no test passed)" in lines[3]
    assert lines[-1] == "1 of 3 product lines certified, 1 partial (level document)"


def test_summary_colours_only_a_terminal(
    runs: list[RunResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    tty = Tty()
    print_summary(runs, tty)
    assert "\x1b[31mNOT certified" in tty.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = Tty()
    print_summary(runs, plain)
    assert "\x1b[" not in plain.getvalue()


def test_progress_line() -> None:
    assert progress_line("atlas-a3", "lifecycle", 12, 40) == "[atlas-a3] lifecycle  12/40   30%"
    assert progress_line("atlas-a3", "data", 0, 0).endswith("0/0  100%")


def test_progress_appends_in_a_log_and_redraws_on_a_terminal() -> None:
    log = io.StringIO()
    print_progress(log, "atlas-a3", "surface", 40, 120)
    print_progress(log, "atlas-a3", "stateful", 120, 120)
    assert (
        log.getvalue()
        == "[atlas-a3] surface     40/120   33%\n[atlas-a3] stateful   120/120  100%\n"
    )
    tty = Tty()
    print_progress(tty, "atlas-a3", "surface", 1, 3)
    assert tty.getvalue() == "\r\x1b[2K[atlas-a3] surface    1/3   33%"
    print_progress(tty, "atlas-a3", "stateful", 3, 3)
    assert tty.getvalue().endswith("3/3  100%\n")


def test_rollup_order_covers_every_outcome() -> None:
    assert set(ROLLUP_ORDER) == {*OUTCOMES, "no-test"}
    assert rollup(["pass", "untestable"]) == "untestable"
    assert rollup(["pass", "fail", "error"]) == "fail"
    assert rollup([]) == "no-test"
