"""Meta-test: the replay of every failure of the broken targets reproduces it, run as printed.

The suite runs against each broken and each fresh target (only the tests of the clauses it
violates, two targets at a time); every failure's replay snippet then runs on its own in a fresh interpreter,
with the PYTHONPATH its header states, and must end with an AssertionError carrying the
report's message (clause, call, expected, observed). The same snippet pointed at the reference
must run to its end without one: the check the replay ends with is computed from what the
replay observes, so it can pass as well as fail. A test whose process crashed has a replay too,
which dies the same way.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from datadist_conformance.checks import failure_message
from datadist_conformance.coverage import collect_tests, coverage
from datadist_conformance.results import RunResult, TestResult
from datadist_conformance.runner import RunOptions, run_product
from datadist_conformance.speclib import load_spec

from .conftest import ALT_IMPL_DIR, BROKEN_DIR, DEVICE_DIR, FRESH_DIR, module_constants

SEED = 20261127
#: A hanging or crashing target leaves no failure (a crash is checked on its own, below); the
#: fresh single-rule targets are broken targets the suite was not built with.
BROKEN = sorted(
    p
    for p in BROKEN_DIR.glob("llm_datadist_broken_*.py")
    if not {"HANGS", "CRASHES"} & set(module_constants(p))
) + sorted(FRESH_DIR.glob("llm_datadist_fresh_*.py"))
_PATH_LINE = re.compile(r"^# run it saved as replay\.py: (?:PYTHONPATH=(\S+) )?python replay\.py$")
_TARGET = re.compile(r"replay\.(peer_)?target\('[^']+'")


@pytest.fixture(scope="module")
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, RunResult]]:
    """One run per broken target the session selected, of the tests of the clauses it violates."""
    selected = {
        item.callspec.params.get("stem")
        for item in request.session.items
        if isinstance(item, pytest.Function) and hasattr(item, "callspec")
    }
    targets = [p for p in BROKEN if p.stem in selected]
    tests_of = coverage(load_spec(), collect_tests()).tests_of
    paths = [BROKEN_DIR, FRESH_DIR, ALT_IMPL_DIR, DEVICE_DIR]
    existing = os.environ.get("PYTHONPATH", "")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", os.pathsep.join([*map(str, paths), *filter(None, [existing])]))

        def run(path: Path) -> RunResult:
            constants = module_constants(path)
            violates = constants.get("VIOLATES") or constants["CAUGHT_BY"]
            only = tuple(sorted({t for c in violates for t in tests_of[c]}))
            # the fresh targets are caught at ci, the profile their meta-test certifies
            profile = "ci" if "CAUGHT_BY" in constants else "quick"
            options = RunOptions(impl=path.stem, profile=profile, seed=SEED, only=only)
            out = tmp_path_factory.mktemp(path.stem)
            product = constants.get("PRODUCT", "atlas-a3")
            result = run_product(product, options, out)
            if any(t.outcome == "fail" for t in result.tests):
                return result
            # The violation surfaced in a test that does not carry the clause (a template
            # whose check of the clause is incidental): the whole suite finds it.
            options = RunOptions(impl=path.stem, profile="quick", seed=SEED)
            return run_product(product, options, tmp_path_factory.mktemp(f"{path.stem}-all"))

        with ThreadPoolExecutor(max_workers=2) as pool:  # the CI machine has two cores
            yield dict(zip([p.stem for p in targets], pool.map(run, targets), strict=True))


def _replay(source: str, where: Path) -> subprocess.CompletedProcess[str]:
    """Run ``source`` as its header says: saved as replay.py, in a fresh interpreter, with only
    the PYTHONPATH it states (and in a directory of its own, so nothing else is importable)."""
    header = [m for line in source.splitlines() if (m := _PATH_LINE.match(line))]
    assert len(header) == 1, f"no single 'run it saved as replay.py' line in:\n{source}"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if header[0].group(1):
        env["PYTHONPATH"] = header[0].group(1)
    where.mkdir()
    (where / "replay.py").write_text(source, "utf-8")
    return subprocess.run(
        [sys.executable, "replay.py"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=where,
    )


def _report_message(test: TestResult) -> str:
    text = test.message.removeprefix(f"[{test.failed_clause}] ")
    return failure_message(test.failed_clause, text, test.call, test.expected, test.observed)


@pytest.mark.slow
@pytest.mark.parametrize(
    "stem",
    [p.stem for p in BROKEN],
    ids=[p.stem.removeprefix("llm_datadist_") for p in BROKEN],
)
def test_the_replay_of_each_failure_reproduces_it(
    stem: str, runs: dict[str, RunResult], tmp_path: Path
) -> None:
    failures = [t for t in runs[stem].tests if t.outcome == "fail"]
    assert failures, f"{stem}: no failure to replay ({runs[stem].counts})"
    for number, test in enumerate(failures):
        wanted = "AssertionError: " + _report_message(test)
        replayed = _replay(test.replay, tmp_path / f"broken-{number}")
        assert wanted in replayed.stderr, (
            f"{test.id}: its replay did not end with\n{wanted}\n"
            f"exit {replayed.returncode}, stderr:\n{replayed.stderr[-3000:]}\nreplay:\n{test.replay}"
        )
        assert replayed.returncode == 1, replayed.stderr[-3000:]  # the uncaught AssertionError
        against_reference = _TARGET.sub(r"replay.\1target('llm_datadist_ref'", test.replay)
        passed = _replay(against_reference, tmp_path / f"reference-{number}")
        assert passed.returncode == 0, (
            f"{test.id}: its replay against the reference failed too (the check it ends with "
            f"cannot tell the targets apart): exit {passed.returncode}\n{passed.stderr[-3000:]}"
        )


@pytest.mark.slow
@pytest.mark.usefixtures("target_path")
def test_the_replay_of_a_crash_dies_the_same_way(tmp_path: Path) -> None:
    """A test whose process died has as replay the calls of the example it died in, the call in
    progress last: run, it dies by the same signal; against the reference it runs to its end."""
    options = RunOptions(
        impl="llm_datadist_broken_crash",
        profile="quick",
        seed=SEED,
        only=("test_clause_property[copy_blocks.copies]",),
    )
    run = run_product("atlas-a3", options, tmp_path / "run")
    assert "SIGSEGV" in run.crashed, run.crashed
    (crashed,) = [t for t in run.tests if t.outcome == "error"]
    assert "# in progress when the test process died" in crashed.replay, crashed.replay
    died = _replay(crashed.replay, tmp_path / "broken")
    assert died.returncode == -signal.SIGSEGV, (died.returncode, died.stderr[-3000:])
    against_reference = _TARGET.sub(r"replay.\1target('llm_datadist_ref'", crashed.replay)
    finished = _replay(against_reference, tmp_path / "reference")
    assert finished.returncode == 0, finished.stderr[-3000:]
