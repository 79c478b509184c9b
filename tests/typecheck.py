"""mypy over tests/ at the level of tests/mypy.ini (tox -e type runs this).

Three runs, not one: tests/impl and tests/remote put themselves on sys.path (`import
impl_support`), so mypy must see their modules as top-level ones, and their two conftest.py would
then be one module named twice. Every entry of tests/ must be in a run: a new directory fails
here until it is added, instead of going unchecked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: (what a run checks, its MYPYPATH: the directories its modules import from as top-level names)
RUNS = (
    (["tests/impl"], ["tests/impl"]),
    (["tests/remote"], ["tests/remote"]),
    (
        ["tests/conftest.py", "tests/typecheck.py", "tests/spec", "tests/reports", "tests/suite"],
        [
            ".",
            "tests/suite/alt_impl",
            "tests/suite/broken",
            "tests/suite/fresh",
            "tests/suite/device",
        ],
    ),
)
NOT_PYTHON = {"mypy.ini", "__pycache__"}


def main() -> int:
    covered = {Path(path).name for paths, _ in RUNS for path in paths}
    missing = sorted(
        p.name for p in (ROOT / "tests").iterdir() if p.name not in covered | NOT_PYTHON
    )
    if missing:
        print(f"tests/typecheck.py: entries of tests/ in no mypy run: {missing}", file=sys.stderr)
        return 2
    status = 0
    for paths, mypy_path in RUNS:
        env = {**os.environ, "MYPYPATH": os.pathsep.join(mypy_path)}
        command = [sys.executable, "-m", "mypy", "--config-file", "tests/mypy.ini", *paths]
        status = max(status, subprocess.run(command, cwd=ROOT, env=env, check=False).returncode)
    return status


if __name__ == "__main__":
    sys.exit(main())
