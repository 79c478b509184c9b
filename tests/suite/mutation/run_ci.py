"""The test command of the mutation run: the suite's ``ci`` profile against llm_datadist_alt.

Exit status 0 only when the product line (atlas-a3 unless ``DATADIST_MUTATION_PRODUCT``
says otherwise) is **certified** (the mutant survived): pytest
exited 0 and the per-test results, judged by the runner's own rule
(:func:`datadist_conformance.verdicts.verdict_of`), say ``certified``. A run that
is partial (a clause carried but never exercised, a capability missing), has no
evidence, or wrote no results does not certify, so a mutant that causes it is
killed, exactly as `datadist-conformance run` would refuse the line. The suite
runs as the runner runs it, with ``-x``: a line is not certified from its first
failing test on, so stopping there changes no verdict. Bytecode is neither
written nor read from a cache, so each mutant is compiled from the source
cosmic-ray wrote. The verdict is printed last, so the baseline run can say why
it did not certify.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from datadist_conformance.results import RunResult, TestResult
from datadist_conformance.verdicts import CERTIFIED, verdict_of, verdict_text

HERE = Path(__file__).resolve().parent
ALT_IMPL_DIR = HERE.parent / "alt_impl"
SEED = int(os.environ.get("DATADIST_MUTATION_SEED", "1"))
#: mutate.py names another line for the survivors only it can reach (equivalent.yaml, other_line).
PRODUCT = os.environ.get("DATADIST_MUTATION_PRODUCT", "atlas-a3")
INI = "[pytest]\naddopts = -p no:cacheprovider\n"


def _command(work: str, results: Path) -> list[str]:
    return [
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
        f"--datadist-product={PRODUCT}",
        "--datadist-profile=ci",
        "--datadist-test-timeout=60",
        f"--datadist-results={results}",
    ]


def verdict(results: Path, returncode: int) -> str:
    """The line's verdict in words; anything but ``certified`` kills the mutant."""
    if not results.is_file():
        return f"no results written (pytest exit status {returncode})"
    data = json.loads(results.read_text("utf-8"))
    if "tests" not in data:  # a load, adapter or usage error instead of a run
        return f"no run: {sorted(data)} (pytest exit status {returncode})"
    run = RunResult(
        suite_version="",
        spec_hash="",
        implementation={"module": "llm_datadist_alt"},
        product={"id": PRODUCT},
        profile="ci",
        seed=SEED,
        started="",
        finished="",
        tests=[TestResult(**t) for t in data["tests"]],
        crashed="" if returncode in (0, 1) else f"pytest exit status {returncode}",
    )
    if verdict_of(run) == CERTIFIED and returncode != 0:
        return f"NOT certified (pytest exit status {returncode})"
    return verdict_text(run)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="datadist-mutant-") as work:
        Path(work, "pytest.ini").write_text(INI, "utf-8")
        results = Path(work, "results.json")
        paths = [str(ALT_IMPL_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(paths),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONPYCACHEPREFIX=str(Path(work, "pycache")),
        )
        returncode = subprocess.run(_command(work, results), cwd=work, env=env).returncode
        said = verdict(results, returncode)
        print(f"{PRODUCT} at profile ci, seed {SEED}: {said}", flush=True)
        return 0 if said == CERTIFIED else 1


if __name__ == "__main__":
    sys.exit(main())
