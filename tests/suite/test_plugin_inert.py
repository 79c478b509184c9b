"""Meta-test: installing the package does not change an unrelated project's pytest runs.

The plugin is registered through an entry point, so pytest loads it into every run of every
project in the environment. Unless the suite is asked for, it must load no spec, import no
target, arm no faulthandler timeout and print nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_TEST = """
import faulthandler
import sys

ARMED = []
_arm = faulthandler.dump_traceback_later
faulthandler.dump_traceback_later = lambda *a, **k: (ARMED.append(a), _arm(*a, **k))[1]


def test_plain() -> None:
    assert 1 + 1 == 2


def test_the_plugin_did_nothing() -> None:
    from datadist_conformance.speclib import loader

    assert ARMED == [], f"the plugin armed faulthandler timeouts: {ARMED}"
    assert loader._load_cached.cache_info().currsize == 0, "the plugin loaded the spec"
    assert "no_such_datadist_target" not in sys.modules
"""


def test_an_unrelated_project_runs_untouched(tmp_path: Path) -> None:
    (tmp_path / "test_project.py").write_text(PROJECT_TEST, "utf-8")
    # An editable install of this package (not tox's wheel) makes pytest warn that it cannot
    # rewrite the install hook's module; that is the environment's doing, not the plugin's.
    (tmp_path / "pytest.ini").write_text(
        "[pytest]\naddopts = -p no:cacheprovider --strict-markers\n"
        "filterwarnings = ignore:Module already imported:pytest.PytestAssertRewriteWarning\n",
        "utf-8",
    )
    env = {**os.environ, "DATADIST_CONFORMANCE_IMPL": "no_such_datadist_target"}
    env.pop("PYTEST_ADDOPTS", None)
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "2 passed" in output, output
    assert "datadist" not in output.lower(), f"the plugin printed something:\n{output}"
    listed = subprocess.run(
        [sys.executable, "-m", "pytest", "--trace-config", "--co", "-q"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "datadist_conformance" in listed.stdout, "the plugin was not even loaded: vacuous"
