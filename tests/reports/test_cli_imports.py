"""The command line imports a sub-command's machinery only when that sub-command is named, so that
`datadist-conformance --help` starts at once (benchmarks/cli_start.py times it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pytest", "hypothesis", "jsonschema", "yaml", "datadist_conformance.speclib")
PROBE = """
import json, sys
from datadist_conformance.cli import main
try:
    main({argv!r})
except SystemExit:
    pass
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr)
"""


def imported_by(argv: list[str], watched: tuple[str, ...] = HEAVY) -> list[str]:
    """The `watched` modules a fresh interpreter has imported after `main(argv)`."""
    code = PROBE.format(argv=argv, heavy=watched)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded: list[str] = json.loads(result.stderr.strip().splitlines()[-1])
    return loaded


@pytest.mark.parametrize("argv", [["--help"], ["no-such-command"]])
def test_top_level_help_imports_no_sub_command(argv: list[str]) -> None:
    loaded = imported_by(argv)
    assert loaded == [], (
        f"datadist-conformance {' '.join(argv)}: expected none of {HEAVY} imported, "
        f"observed {loaded}"
    )


def test_spec_commands_do_not_import_the_test_runner() -> None:
    loaded = imported_by(["spec", "--help"])
    assert not {"pytest", "hypothesis"}.intersection(loaded), (
        f"datadist-conformance spec --help: expected neither pytest nor hypothesis imported, "
        f"observed {loaded}"
    )


def test_run_takes_its_profiles_from_their_module_not_the_plugin() -> None:
    """`run` validates --profile against the profiles module; the pytest plugin stays unloaded in
    the CLI's process (it is loaded by pytest, in the run's own process)."""
    probe = ("datadist_conformance.profiles", "datadist_conformance.pytest_plugin")
    loaded = imported_by(["run", "--help"], probe)
    assert loaded == ["datadist_conformance.profiles"], (
        "datadist-conformance run --help: expected the profiles module imported and the plugin "
        f"not, observed {loaded}"
    )
