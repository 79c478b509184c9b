"""The test command of the mutation run: the suite's ``ci`` profile against llm_datadist_alt.

Exit status 0 when atlas-a3 is certified (the mutant survived), non-zero when any
test fails or errors (killed). It runs the suite's pytest process as the runner
does, with ``-x``: a line is not certified from its first failing test on, so
stopping there changes no verdict. Bytecode is neither written nor read from a
cache, so each mutant is compiled from the source cosmic-ray wrote.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ALT_IMPL_DIR = HERE.parent / "alt_impl"
SEED = int(os.environ.get("DATADIST_MUTATION_SEED", "1"))
INI = "[pytest]\naddopts = -p no:cacheprovider\n"


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="datadist-mutant-") as work:
        Path(work, "pytest.ini").write_text(INI, "utf-8")
        paths = [str(ALT_IMPL_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(paths),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONPYCACHEPREFIX=str(Path(work, "pycache")),
        )
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--pyargs",
            "datadist_conformance.suite",
            "-c",
            str(Path(work, "pytest.ini")),
            "--rootdir",
            work,
            "-q",
            "-x",
            "-p",
            "no:randomly",
            f"--hypothesis-seed={SEED}",
            "--datadist-impl=llm_datadist_alt",
            "--datadist-product=atlas-a3",
            "--datadist-profile=ci",
            "--datadist-test-timeout=60",
        ]
        return subprocess.run(command, cwd=work, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
