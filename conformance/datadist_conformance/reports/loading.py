"""Read result sets from disk, validated, so a damaged file is named instead of misreported.

A result set is either a directory holding ``<product>/results.json`` (what
``datadist-conformance run --out DIR`` writes) or one ``results.json``.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from ..results import RunResult

__all__ = ["RESULTS_FILE", "ResultsError", "load_result_set", "load_results_file", "results_schema"]

RESULTS_FILE = "results.json"


class ResultsError(Exception):
    """A result set that cannot be read; the message names the file and the problem."""


@functools.cache
def results_schema() -> dict[str, Any]:
    """The JSON Schema of results.json (``schemas/results.schema.json``)."""
    text = (resources.files("datadist_conformance") / "schemas" / "results.schema.json").read_text(
        "utf-8"
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_results_file(path: Path) -> RunResult:
    """One results.json, checked against the schema."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(f"{path}: cannot read results: {exc}") from exc
    validator = jsonschema.Draft202012Validator(results_schema())
    error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(top level)"
        raise ResultsError(f"{path}: {where}: {error.message}")
    return RunResult.from_json(data)


def load_result_set(path: Path) -> dict[str, RunResult]:
    """Product id -> run, from a directory of ``<product>/results.json`` or one results.json."""
    if path.is_file():
        run = load_results_file(path)
        return {run.product["id"]: run}
    if not path.is_dir():
        raise ResultsError(f"{path}: no such results file or directory")
    runs: dict[str, RunResult] = {}
    for file in sorted(path.glob(f"*/{RESULTS_FILE}")):
        run = load_results_file(file)
        product_id = run.product["id"]
        if product_id != file.parent.name:
            raise ResultsError(f"{file}: holds product {product_id!r}, not {file.parent.name!r}")
        runs[product_id] = run
    if not runs:
        raise ResultsError(f"{path}: no <product>/{RESULTS_FILE} found")
    return runs
