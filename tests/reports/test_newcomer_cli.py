"""What a newcomer reads from the CLI and the reports: help that answers, errors before any
output, diffs that compare like with like, logs one line per family, failures first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datadist_conformance.cli import main
from datadist_conformance.coverage import collect_tests
from datadist_conformance.profiles import PROFILES
from datadist_conformance.reports import diff_result_sets, render_diff_text, render_html_report
from datadist_conformance.results import RunResult
from datadist_conformance.speclib import Spec
from datadist_conformance.templates import FAMILIES

from .conftest import make_run, make_test


def test_run_help_lists_profiles_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for name, profile in PROFILES.items():
        line = re.search(rf"^  {name} +(\d+) examples per property, (.+) per product line$", text,
                         flags=re.MULTILINE)  # fmt: skip
        assert line, f"run --help: no line for profile {name}:\n{text}"
        assert int(line[1]) == profile.max_examples, f"run --help: {line[0]!r} vs {profile}"
    for report in ("index.html", "report.html", "summary.md", "junit.xml", "results.json"):
        assert report in text, f"run --help does not say where {report} goes:\n{text}"


def test_an_unknown_implementation_fails_before_anything_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    status = main(["run", "--impl", "no_such_module_here", "--product", "atlas-a3"])
    out, err = capsys.readouterr()
    assert status == 2, (status, out, err)
    assert out == "", f"run printed before failing: {out!r}"
    assert err.startswith("error: cannot load the implementation 'no_such_module_here'"), err
    assert list(tmp_path.iterdir()) == [], "a failed run left files behind"


def test_summary_help_names_only_what_it_takes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "summary", "--help"])
    text = capsys.readouterr().out
    assert "NEW" not in text, f"report summary takes no NEW, its help says:\n{text}"


def test_summary_orders_lines_as_run_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: Spec
) -> None:
    runs = [make_run(pid, [make_test("t", "pass", [], [])]) for pid in ("atlas-a2-training",
                                                                        "atlas-a3")]  # fmt: skip
    for run in runs:
        run.write(tmp_path / run.product["id"] / "results.json")
    assert main(["report", "summary", str(tmp_path)]) == 0
    printed = [line.split()[0] for line in capsys.readouterr().out.splitlines()[:2]]
    order = [p.id for p in spec.products if p.id in printed]
    assert printed == order, f"report summary printed {printed}, run's order is {order}"


def test_a_profile_change_is_said_once_with_how_to_compare_like_with_like() -> None:
    def runs(profile: str) -> dict[str, RunResult]:
        tests = [make_test("t", "pass", ["copy_cache.bounds"], ["CacheManager.copy_cache"])]
        return {pid: make_run(pid, tests, profile=profile) for pid in ("atlas-a3", "atlas-800i-a2")}

    text = render_diff_text(diff_result_sets(runs("quick"), runs("ci")), "OLD", "NEW")
    assert text.count("quick -> ci") == 1, text
    assert "--profile quick" in text, text
    assert "metadata changed" not in text, text


def test_suite_tests_run_family_by_family() -> None:
    families = [str(test["family"]) for test in collect_tests().values()]
    runs = [family for i, family in enumerate(families) if i == 0 or families[i - 1] != family]
    assert runs == [f for f in FAMILIES if f in families], (
        f"families interleave, so a CI log gets a line per switch: {runs}"
    )


def test_failures_come_before_the_matrix_and_show_clause_text_once(spec: Spec) -> None:
    clause = spec.clause("copy_cache.bounds")
    failing = make_test(
        "test_clause[copy_cache.bounds]", "fail", [clause.id], ["CacheManager.copy_cache"],
        message=f"[{clause.id}] {clause.text.en}\nmore detail", failed_clause=clause.id,
        call="copy_cache(dst, src)", expected="ValueError", observed="returned None",
    )  # fmt: skip
    page = render_html_report(make_run("atlas-a3", [failing]), spec)
    assert page.index("Failures (1)") < page.index("APIs × clauses"), "failures come first"
    block = page[page.index("Failures (1)") : page.index("APIs × clauses")]
    assert block.count(clause.text.en) == 1, (
        f"the clause's text appears {block.count(clause.text.en)} times"
    )
    assert "more detail" in block, "the rest of the message is still shown"
