"""results.schema.json describes exactly what RunResult.to_json() writes."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from datadist_conformance import results
from datadist_conformance.reports import ResultsError, load_results_file, results_schema
from datadist_conformance.results import RunResult

DERIVED = {"summary", "verdict", "certified", "unchecked_clauses", "failing_clauses", "families"}


def validator() -> jsonschema.Draft202012Validator:
    schema = results_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_realistic_runs_validate(runs: list[RunResult]) -> None:
    for run in runs:
        errors = [e.message for e in validator().iter_errors(run.to_json())]
        assert errors == [], f"{run.product['id']}: {errors}"


def test_schema_names_every_field_of_the_dataclasses() -> None:
    schema = results_schema()
    run_fields = {f.name for f in dataclasses.fields(RunResult)}
    assert set(schema["properties"]) == run_fields | DERIVED
    assert set(schema["required"]) == run_fields | DERIVED
    test_fields = {f.name for f in dataclasses.fields(results.TestResult)}
    assert set(schema["$defs"]["test"]["properties"]) == test_fields


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


BROKEN = {
    "unknown outcome": _set("tests/0/outcome", "passed"),
    "negative duration": _set("tests/0/duration", -1.0),
    "clause id with a space": _set("tests/0/clauses", ["allocate cache"]),
    "test field missing": _delete("tests/0/replay"),
    "test field unknown": _set("tests/0/severity", "high"),
    "unknown top-level key": _set("hostname", "ci-7"),
    "missing product": _delete("product"),
    "implementation without module": _delete("implementation/module"),
    "implementation fact not text": _set("implementation/capabilities", ["read", "write"]),
    "short spec hash": _set("spec_hash", "acc20b8e"),
    "seed as text": _set("seed", "42"),
    "timestamp not ISO": _set("started", "27/11/2025 09:00"),
    "summary without an outcome": _delete("summary/untestable"),
    "certified as text": _set("certified", "yes"),
    "future format": _set("format_version", 2),
    "environment value not text": _set("environment/cpus", 2),
}


@pytest.mark.parametrize("mutate", BROKEN.values(), ids=BROKEN.keys())
def test_broken_results_are_rejected(
    a3_run: RunResult, mutate: Callable[[dict[str, Any]], None]
) -> None:
    data = a3_run.to_json()
    mutate(data)
    assert not validator().is_valid(data)


def test_loading_a_broken_file_names_file_and_key(a3_run: RunResult, tmp_path: Path) -> None:
    data = a3_run.to_json()
    data["tests"][2]["outcome"] = "crashed"
    path = tmp_path / "results.json"
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(
        ResultsError, match=r"results\.json: tests/2/outcome: 'crashed' is not one of"
    ):
        load_results_file(path)


def test_loading_round_trips(a3_run: RunResult, tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    a3_run.write(path)
    assert load_results_file(path) == a3_run


def test_unknown_api_marker_is_accepted(a3_run: RunResult) -> None:
    """The plugin writes '?' as the API of a clause the spec does not know; reports still render."""
    data = a3_run.to_json()
    data["tests"][0]["apis"] = ["?"]
    assert validator().is_valid(data)


def test_a_target_that_died_early_is_only_a_module(crashed_run: RunResult) -> None:
    data = crashed_run.to_json()
    data["implementation"] = {"module": "vendor_dd"}
    assert validator().is_valid(data)
