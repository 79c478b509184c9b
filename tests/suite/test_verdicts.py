"""Meta-tests of the verdicts: a certificate says exactly what the run showed, and the CLI's exit
status, results.json and reports agree on it.

Each test runs the real CLI (the suite in its own process) on a few tests, so it fails if a run
that checked nothing, a run that could not check some clauses, or a failure hidden behind an
unrelated expectation could still come out "certified".
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest
import yaml

from datadist_conformance import runner
from datadist_conformance.cli import main
from datadist_conformance.results import load_run
from datadist_conformance.suite.test_lifecycle_machine import CLAUSES, PULL_CLAUSES
from datadist_conformance.verdicts import Exit

TIMEOUT = "test_clause[copy_cache.raises.timeout]"
SIGNATURE = "test_clause[copy_cache.signature]"
MACHINE = "test_lifecycle_state_machine"


def _run(out: Path, *args: str) -> int:
    return main(["run", "--product", "atlas-a3", "--profile", "quick", "--seed", "3",
                 "--out", str(out), *args])  # fmt: skip


def test_unknown_only_ids_are_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    status = _run(out, "--only", SIGNATURE, "test_clause[no.such_clause]")
    err = capsys.readouterr().err
    assert status == Exit.USAGE, err
    assert err.strip().splitlines() == ["error: no such test: test_clause[no.such_clause]"], err
    assert not out.exists(), "a run that ended in a usage error leaves no output directory"


def test_a_run_that_collects_nothing_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Deselect every test inside the suite's process: pytest exits 5 (no tests collected).
    monkeypatch.setattr(
        runner, "_PYTEST_INI", "[pytest]\naddopts = -p no:cacheprovider -k nothing\n"
    )
    status = _run(tmp_path / "out", "--only", SIGNATURE)
    err = capsys.readouterr().err
    assert status == Exit.USAGE, f"a run that checked nothing must not certify: {err}"
    assert "collected no tests" in err


@pytest.mark.slow
def test_clauses_an_adapter_cannot_check_make_the_verdict_partial(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The default adapter has no fault injection: the timeout clause is untestable, not passed."""
    out = tmp_path / "out"
    args = ("--adapter", "datadist_conformance.adapter:Adapter", "--only", TIMEOUT, SIGNATURE)
    status = _run(out, *args)
    printed = capsys.readouterr().out
    assert status == Exit.PARTIAL, printed
    assert "certified with 1 untestable clause (partial)" in printed
    assert "untestable clauses: copy_cache.raises.timeout" in printed
    run = load_run(out / "atlas-a3" / "results.json")
    assert (run.verdict, run.certified) == ("partial", False)
    assert run.unchecked_clauses == ["copy_cache.raises.timeout"]
    assert (
        "CERTIFIED WITH 1 UNTESTABLE CLAUSE (PARTIAL)"
        in (out / "atlas-a3" / "summary.md").read_text()
    )
    assert "(PARTIAL)" in (out / "atlas-a3" / "report.html").read_text()
    index = json.loads((out / "index.json").read_text())
    assert index["partial"] == ["atlas-a3"]
    assert index["certified"] == []
    assert "1 partial" in (out / "index.html").read_text()
    assert _run(tmp_path / "strict", *args, "--require-complete") == Exit.NOT_CERTIFIED


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_an_expectation_does_not_hide_a_failure_on_another_clause(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lifecycle machine carries many clauses; this target breaks deallocate_cache.absent_noop.

    An entry for another clause the machine carries must leave the failure a failure.
    """
    expectations = tmp_path / "expected.yaml"
    entry = {"clause": "allocate_cache.pool.capacity", "reason": "pool is elastic"}
    expectations.write_text(yaml.safe_dump({"expectations": [entry]}))
    out = tmp_path / "out"
    status = _run(
        out, "--impl", "llm_datadist_broken_double_free", "--only", MACHINE,
        "--expectations", str(expectations),
    )  # fmt: skip
    capsys.readouterr()
    (test,) = load_run(out / "atlas-a3" / "results.json").tests
    assert (test.outcome, test.failed_clause) == ("fail", "deallocate_cache.absent_noop"), test
    assert status == Exit.NOT_CERTIFIED


def test_readme_and_help_document_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text("utf-8")
    rows = re.findall(r"^  \| (\d) \| ([a-z ]+?)[:,]", readme, flags=re.MULTILINE)
    documented = {int(code): words for code, words in rows}
    assert set(documented) == {int(e) for e in Exit}, f"README's exit status table: {documented}"
    for status in Exit:
        name = status.name.lower().replace("_", " ")
        assert documented[status].startswith(name), (
            f"README documents exit {int(status)} as {documented[status]!r}, the CLI as {status.name}"
        )
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    help_text = capsys.readouterr().out
    for status in Exit:
        assert re.search(rf"^  {int(status)}  ", help_text, flags=re.MULTILINE), help_text


def test_a_crash_of_the_suite_is_not_a_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug of the suite")

    monkeypatch.setattr("datadist_conformance.cli.run_cmd.run_products", broken)
    assert _run(tmp_path / "out") == Exit.CRASH
    assert "the suite itself crashed" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--expectations", "{missing}"], "--expectations: "),
        (["--expectations", "{malformed}"], "every expectation needs a reason"),
        (["--out", "{file}"], "exists and is not a directory"),
        (
            ["--adapter", "no_such_adapter_module:Adapter"],
            "cannot load the adapter 'no_such_adapter_module:Adapter'",
        ),
        (["--product", "atlas-z9"], "unknown product line 'atlas-z9'"),
    ],
    ids=["missing-expectations", "malformed-expectations", "out-is-a-file", "adapter", "product"],
)
def test_bad_arguments_are_one_line_before_anything_runs(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text(yaml.safe_dump({"expectations": [{"clause": "copy_cache.bounds"}]}))
    (tmp_path / "file").write_text("not a directory")
    paths = {
        "missing": tmp_path / "missing.yaml",
        "malformed": malformed,
        "file": tmp_path / "file",
    }
    args = [a.format(**paths) for a in args]
    out = tmp_path / "out"
    status = main(["run", "--product", "atlas-a3", "--out", str(out), "--only", SIGNATURE,
                   *args])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert status == Exit.USAGE, err
    assert len(err) == 1, err
    assert err[0].startswith("error: "), err
    assert message in err[0], err
    assert not out.exists(), "nothing half-written is left behind"


def test_tox_gates_do_not_ignore_exit_statuses() -> None:
    """tox runs a command prefixed with '-' but ignores its status: no gate may do that."""
    tox = configparser.ConfigParser(interpolation=None)
    tox.read(Path(__file__).resolve().parents[2] / "tox.ini", encoding="utf-8")
    for section in tox.sections():
        for key in ("commands", "commands_pre"):
            lines = [line.strip() for line in tox[section].get(key, "").splitlines()]
            ignored = [line for line in lines if line.startswith("-")]
            assert not ignored, f"[{section}] {key} ignores the exit status of {ignored}"
    assert "datadist-conformance run" in tox["testenv:conformance"]["commands"]


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_checks_an_adapter_cannot_support_are_untestable_not_passed(tmp_path: Path) -> None:
    """Without ``bytes``, "nothing is written" (bounds_checked), "the live caches are intact"
    (pool_exhaustion) and "the failed call changed no byte" (the key-list and mismatch checks)
    cannot be checked: those clauses are untestable, not passed, and no template reads bytes
    without declaring it (the adapter's byte methods raise, so that would be an error)."""
    options = runner.RunOptions(
        impl="llm_datadist_ref",
        adapter="datadist_test_adapters:NoBytesAdapter",
        profile="quick",
        seed=5,
    )
    run = runner.run_product("atlas-a3", options, tmp_path)
    outcomes = {t.id: t.outcome for t in run.tests}
    for clause in ("copy_cache.bounds", "copy_blocks.bounds", "swap_blocks.bounds"):
        assert outcomes[f"test_clause_property[{clause}]"] == "untestable", outcomes
    for test in (
        "test_clause_property[allocate_cache.raises.key_already_bound]",
        "test_clause_property[allocate_cache.keys.count_within_batch]",
        "test_clause[copy_cache.desc_must_match]",
        "test_clause[swap_blocks.raises.mismatch]",
    ):
        assert outcomes[test] == "untestable", outcomes
    assert "allocate_cache.pool.capacity" in run.unchecked_clauses
    errors = {t.id: t.message[:300] for t in run.tests if t.outcome in ("fail", "error")}
    assert not errors, f"templates that need bytes without declaring it: {errors}"
    assert run.verdict == "partial"


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_an_undocumented_refusal_is_not_read_as_it_does_not_fit(tmp_path: Path) -> None:
    """This target refuses a three-page cache with RuntimeError, not LLMException. The release
    checks ask "does a second three-page cache fit?": any exception must not mean "no"."""
    only = ("test_clause[deallocate_cache.releases]", "test_clause[remove_cache_key.releases_key]")
    options = runner.RunOptions(
        impl="llm_datadist_broken_refusal_type", profile="quick", seed=5, only=only
    )
    run = runner.run_product("atlas-a3", options, tmp_path)
    found = {t.id: (t.outcome, t.failed_clause) for t in run.tests}
    assert found == dict.fromkeys(only, ("fail", "allocate_cache.pool.capacity")), found


def test_health_checks_against_vacuous_properties_stay_on() -> None:
    from hypothesis import HealthCheck, settings

    for name in ("quick", "ci", "thorough"):
        suppressed = settings.get_profile(f"datadist-{name}").suppress_health_check
        assert HealthCheck.filter_too_much not in suppressed, name


def test_an_empty_parametrized_list_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytest skips a test parametrized over nothing: the suite would check nothing, silently."""
    from datadist_conformance.suite import test_clauses

    class NoClauses:
        def clauses(self) -> list[object]:
            return []

    monkeypatch.setattr(test_clauses, "SPEC", NoClauses())
    with pytest.raises(AssertionError, match="the suite would check nothing"):
        test_clauses._clause_params(property_templates=True)


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_clauses_the_machine_never_exercised_are_untestable_not_passed(tmp_path: Path) -> None:
    """Without bytes the lifecycle machine cannot pull: the pull clauses it carries are reported
    untestable for it (with the reason), the others counted, and the line is partial."""
    options = runner.RunOptions(
        impl="llm_datadist_ref",
        adapter="datadist_test_adapters:NoBytesAdapter",
        profile="quick",
        seed=5,
        only=(MACHINE,),
    )
    run = runner.run_product("atlas-a3", options, tmp_path)
    (test,) = run.tests
    assert test.outcome == "pass", test.message
    assert test.unexercised == sorted(PULL_CLAUSES), test.unexercised
    assert "pulls need the adapter's peer and bytes" in test.message
    assert set(test.exercised) == set(CLAUSES) - set(PULL_CLAUSES), test.exercised
    assert all(count > 0 for count in test.exercised.values())
    assert run.verdict == "partial"
    assert set(run.unchecked_clauses) == set(PULL_CLAUSES)
