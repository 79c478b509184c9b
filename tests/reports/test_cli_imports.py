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


def imported_by(argv: list[str]) -> list[str]:
    """The heavy modules a fresh interpreter has imported after `main(argv)`."""
    code = PROBE.format(argv=argv, heavy=HEAVY)
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
