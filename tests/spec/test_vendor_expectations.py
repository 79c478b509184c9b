"""The bundled cann-as-shipped expectations: current with the spec, loadable, named by `run`."""

from __future__ import annotations

from pathlib import Path

from datadist_conformance.cli.run_cmd import _expectations_file
from datadist_conformance.expectations import load_expectations
from datadist_conformance.speclib import load_spec
from datadist_conformance.vendor_expectations import bundled_path, render_vendor_expectations


def test_the_bundled_file_is_current() -> None:
    path = bundled_path("cann-as-shipped")
    assert path is not None
    assert path.is_file(), path
    assert path.read_text("utf-8") == render_vendor_expectations(load_spec()), (
        f"{path} is stale: regenerate it with `datadist-conformance spec vendor-expectations --write`"
    )


def test_every_predicted_failure_is_an_entry_with_its_behaviour_and_source() -> None:
    spec = load_spec()
    path = bundled_path("cann-as-shipped")
    assert path is not None
    entries = {e.clause: e for e in load_expectations(path)}
    predicted = {
        c.id: c.vendor_observed
        for c in spec.clauses()
        if c.vendor_observed and c.vendor_observed.predicted == "fail"
    }
    assert predicted
    assert set(entries) == set(predicted), (sorted(entries, key=str), sorted(predicted))
    text = path.read_text("utf-8")
    assert "NOT from a run on hardware" in text
    for clause_id, note in predicted.items():
        assert note.behaviour in entries[clause_id].reason
        assert f'source: "{note.source}"' in text
    assert text.count("evidence: source-reading") == len(predicted)


def test_run_takes_the_bundled_name() -> None:
    assert _expectations_file("cann-as-shipped") == bundled_path("cann-as-shipped")
    assert str(_expectations_file("mine.yaml")) == "mine.yaml"


def test_installed_package_ships_the_file() -> None:
    import datadist_conformance
    from datadist_conformance.vendor_expectations import bundled_dir

    package_dir = Path(datadist_conformance.__file__).parent
    assert bundled_dir() == package_dir / "bundled_expectations", (
        "run the tests against the installed package (tox)"
    )
