"""Traceability: which tests check which clause, from the suite's own collection.

Every test declares its clause IDs (the ``clause`` marker). A normative clause
with no test, or a test that names a clause the spec does not have, is an
error: `datadist-conformance spec coverage` exits 1 and the project's tests fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .speclib import SPEC_DIR_ENV, Spec

__all__ = ["Coverage", "collect_tests", "coverage"]


@dataclass(frozen=True)
class Coverage:
    tests_of: dict[str, list[str]]  #: clause id -> test ids
    informative: list[str]  #: clauses that are never tested, by design
    untested: list[str]  #: normative clauses without a test
    unknown: dict[str, list[str]]  #: test id -> clause ids the spec does not have

    @property
    def ok(self) -> bool:
        return not self.untested and not self.unknown


def collect_tests(spec_dir: Path | None = None) -> dict[str, dict[str, object]]:
    """{test id: {"clauses": [...], "family": ...}} as pytest collects the suite (from the
    spec in ``spec_dir``, default the one the suite finds itself)."""
    with tempfile.TemporaryDirectory(prefix="datadist-collect-") as scratch:
        out = Path(scratch) / "tests.json"
        ini = Path(scratch) / "pytest.ini"
        ini.write_text("[pytest]\naddopts = -p no:cacheprovider\n", "utf-8")
        command = [
            sys.executable, "-m", "pytest", "--collect-only", "-q", "--pyargs", "datadist_conformance.suite",
            "-c", str(ini), "--rootdir", scratch, f"--datadist-collect={out}",
        ]  # fmt: skip
        env = dict(os.environ)
        if spec_dir is not None:
            env[SPEC_DIR_ENV] = str(spec_dir.resolve())
        result = subprocess.run(
            command, cwd=scratch, env=env, capture_output=True, text=True, check=False
        )
        if not out.is_file():
            raise RuntimeError(f"collecting the suite failed:\n{result.stdout}\n{result.stderr}")
        data: dict[str, dict[str, object]] = json.loads(out.read_text("utf-8"))
        return data


def coverage(spec: Spec, tests: dict[str, dict[str, object]]) -> Coverage:
    known = {clause.id for clause in spec.clauses()}
    tests_of: dict[str, list[str]] = {clause.id: [] for clause in spec.clauses()}
    unknown: dict[str, list[str]] = {}
    for test_id, info in tests.items():
        clauses = info.get("clauses", [])
        assert isinstance(clauses, list)
        for clause_id in clauses:
            if clause_id in known:
                tests_of[clause_id].append(test_id)
            else:
                unknown.setdefault(test_id, []).append(str(clause_id))
    informative = [c.id for c in spec.clauses() if not spec.clause_kind(c.kind).testable]
    untested = [
        c.id for c in spec.clauses() if spec.clause_kind(c.kind).testable and not tests_of[c.id]
    ]
    return Coverage(tests_of, informative, untested, unknown)
