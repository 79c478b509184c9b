"""Fixtures for the meta-tests: running the suite against other targets in subprocesses."""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import Any

import pytest

from datadist_conformance.results import RunResult

HERE = Path(__file__).parent
BROKEN_DIR = HERE / "broken"
ALT_IMPL_DIR = HERE / "alt_impl"
DEVICE_DIR = HERE / "device"
FRESH_DIR = HERE / "fresh"


def module_constants(path: Path) -> dict[str, Any]:
    """Top-level literal assignments of a module, read without importing it.

    Importing a broken target would patch the reference in this process.
    """
    constants: dict[str, Any] = {}
    for node in ast.parse(path.read_text("utf-8")).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return constants


@pytest.fixture
def target_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the broken, fresh and device targets and the second implementation importable."""
    existing = os.environ.get("PYTHONPATH", "")
    paths = [
        str(BROKEN_DIR),
        str(FRESH_DIR),
        str(ALT_IMPL_DIR),
        str(DEVICE_DIR),
        *([existing] if existing else []),
    ]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))


def failures_text(run: RunResult, *, replay: bool = False) -> str:
    """The failing and erroring tests of a run, for an assertion message."""
    return "\n".join(
        f"  {t.id}: {t.outcome} {t.failed_clause} {t.message[:400]}"
        + (f"\n{t.replay}" if replay else "")
        for t in run.tests
        if t.outcome in {"fail", "error"}
    )
