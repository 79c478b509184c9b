"""README.md documents what the project has: every clause kind, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from datadist_conformance.speclib import load_spec

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


@pytest.fixture(scope="module")
def readme() -> str:
    if not README.is_file():
        pytest.skip("README.md is not beside the tests (running outside the checkout)")
    return README.read_text("utf-8")


def test_the_registry_table_lists_every_kind_with_its_needs(readme: str) -> None:
    rows = {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.split("|")]
        if len(cells) == 6 and re.fullmatch(r"`[a-z_]+`", cells[1]):
            rows[cells[1].strip("`")] = cells[3]
    spec = load_spec()
    assert set(rows) == {kind.id for kind in spec.clause_kinds}
    for kind in spec.clause_kinds:
        listed = {need.strip() for need in rows[kind.id].split(",") if need.strip()}
        assert listed == set(kind.requires), kind.id


def test_ci_runs_the_readme_test_command(readme: str) -> None:
    commands = re.findall(r"^(python3 -m venv .*)$", readme, re.M)
    assert len(commands) == 2, commands
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert commands[1] in ci.splitlines()
