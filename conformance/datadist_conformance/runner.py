"""Certify a target on product lines: one pytest process per line, results as RunResult.

Each product line runs in its own process (``python -m pytest --pyargs
datadist_conformance.suite``), so that a target that crashes or hangs takes
down one run, not the runner: the plugin's journal says which test was
running, that test is reported ``error`` (crashed), and the run resumes
without it. Two lines run at a time on a two-core machine.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import __version__
from .results import RunResult, TestResult
from .speclib import Spec, load_spec
from .target import DEFAULT_IMPL, IMPL_ENV

__all__ = [
    "RunOptions",
    "RunUsageError",
    "TargetLoadError",
    "rerun",
    "run_product",
    "run_products",
]

Progress = Callable[[str, str, int, int], None]

#: The pytest configuration of a suite process: nothing from the caller's directory.
_PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"

#: Crashes after which a run gives up on the remaining tests.
MAX_CRASHES = 5


@dataclass(frozen=True)
class RunOptions:
    impl: str | None = None
    adapter: str | None = None
    profile: str = "ci"
    level: str = "document"  #: certification level (speclib.LEVELS)
    seed: int = 0  #: 0: draw one; the seed used is recorded in the results
    expectations: Path | None = None
    test_timeout: float = 300.0
    only: Sequence[str] = field(default_factory=tuple)  #: test ids; empty: every test
    peer: str = "auto"  #: peer mode (peer.mode.PEER_MODES)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _environment() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(terse=True),
        "machine": platform.machine(),
    }


class TargetLoadError(RuntimeError):
    """The implementation (or its adapter) could not be imported in the suite's process."""

    def __init__(self, message: str, *, what: str = "implementation") -> None:
        self.what = what  #: "implementation" or "adapter"
        super().__init__(message)


class RunUsageError(RuntimeError):
    """The run was asked for nothing that exists: unknown test ids, or no test collected."""


def _impl_name(options: RunOptions) -> str:
    return options.impl or os.environ.get(IMPL_ENV) or DEFAULT_IMPL


def _product(spec: Spec, product_id: str) -> dict[str, object]:
    product = spec.product(product_id)
    return {
        "id": product.id,
        "name": product.name,
        "name_en": product.name_en or "",
        "feature_sets": {f.id: f.support[product_id] for f in spec.feature_sets},
    }


def run_product(
    product_id: str,
    options: RunOptions,
    out_dir: Path,
    *,
    progress: Progress | None = None,
    spec: Spec | None = None,
) -> RunResult:
    """Run the suite for one product line; writes ``out_dir/<product>/results.json``.

    The target is imported only in the suite's process, never in this one, so that
    a target that crashes on import or use cannot take the runner down.
    """
    spec = spec or load_spec()
    seed = options.seed or random.randrange(1, 2**31)
    out_dir = out_dir.resolve()  # the suite's process runs in the work directory
    work = out_dir / product_id / ".work"
    work.mkdir(parents=True, exist_ok=True)
    (work / "pytest.ini").write_text(_PYTEST_INI, "utf-8")
    run = RunResult(
        suite_version=__version__,
        spec_hash=spec.content_hash,
        implementation={"module": _impl_name(options)},
        product=_product(spec, product_id),
        profile=options.profile,
        seed=seed,
        level=options.level,
        started=_now(),
        finished="",
        environment=_environment(),
    )
    results: dict[str, TestResult] = {}
    crashes: list[str] = []
    excluded: set[str] = set()
    for attempt in range(MAX_CRASHES + 1):
        outcome = _attempt(product_id, options, seed, work, attempt, excluded, progress)
        if outcome.target:
            run.implementation = outcome.target
        for test in outcome.tests:
            results[test.id] = test
        run.unused_expectations = outcome.unused_expectations
        if outcome.finished:
            break
        crashes.append(outcome.crash)
        if outcome.running is None:
            break  # died outside any test: nothing to skip and retry
        results[outcome.running.id] = outcome.running
        excluded |= set(results)
    run.tests = list(results.values())
    run.crashed = "; ".join(crashes)
    run.finished = _now()
    run.write(out_dir / product_id / "results.json")
    if not crashes:  # keep the logs only when they explain something
        shutil.rmtree(work, ignore_errors=True)
    return run


@dataclass
class _Attempt:
    tests: list[TestResult]
    unused_expectations: list[str]
    finished: bool
    crash: str = ""
    running: TestResult | None = None
    target: dict[str, str] = field(default_factory=dict)


def _attempt(
    product_id: str,
    options: RunOptions,
    seed: int,
    work: Path,
    attempt: int,
    excluded: set[str],
    progress: Progress | None,
) -> _Attempt:
    """One pytest process over the suite: its results, or what it crashed or hung on."""
    journal = work / f"journal-{attempt}.log"
    raw = work / f"results-{attempt}.json"
    log = work / f"pytest-{attempt}.log"
    for path in (journal, raw, Path(f"{journal}.faults"), Path(f"{journal}.transcript")):
        path.unlink(missing_ok=True)
    command = _pytest_command(product_id, options, seed, work, raw, journal, excluded)
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(
            command, cwd=work, env=_suite_environment(), stdout=output, stderr=subprocess.STDOUT
        )
        _follow(process, journal, product_id, progress)
    data = json.loads(raw.read_text("utf-8")) if raw.is_file() else {}
    _raise_setup_errors(data, process.returncode, excluded, log)
    tests = [TestResult(**t) for t in data.get("tests", [])]
    facts = {
        k: ", ".join(v) if isinstance(v, list) else str(v)
        for k, v in data.get("target", {}).items()
    }
    unused = list(data.get("unused_expectations", []))
    finished, running = _journal_state(journal)
    if finished and process.returncode in (0, 1, 5):  # 5: every test was already run
        return _Attempt(tests, unused, True, target=facts)
    crash, crashed_test = _crash(journal, log, process.returncode, running, options.test_timeout)
    return _Attempt(tests, unused, False, crash, crashed_test, facts)


def _pytest_command(
    product_id: str,
    options: RunOptions,
    seed: int,
    work: Path,
    raw: Path,
    journal: Path,
    excluded: set[str],
) -> list[str]:
    """The pytest command line of one attempt (writing the --only / --exclude lists it names)."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        "datadist_conformance.suite",
        "-c",
        str(work / "pytest.ini"),
        "--rootdir",
        str(work),
        "-q",
        "-p",
        "no:randomly",
        f"--hypothesis-seed={seed}",
        f"--datadist-impl={_impl_name(options)}",
        f"--datadist-product={product_id}",
        f"--datadist-profile={options.profile}",
        f"--datadist-level={options.level}",
        f"--datadist-results={raw}",
        f"--datadist-journal={journal}",
        f"--datadist-test-timeout={options.test_timeout}",
        f"--datadist-peer={options.peer}",
    ]
    if options.adapter:
        command.append(f"--datadist-adapter={options.adapter}")
    if options.expectations:
        command.append(f"--datadist-expectations={options.expectations.resolve()}")
    if options.only:
        (work / "only.txt").write_text("\n".join(options.only) + "\n", "utf-8")
        command.append(f"--datadist-only={work / 'only.txt'}")
    if excluded:
        (work / "exclude.txt").write_text("\n".join(sorted(excluded)) + "\n", "utf-8")
        command.append(f"--datadist-exclude={work / 'exclude.txt'}")
    return command


def _raise_setup_errors(
    data: dict[str, Any], returncode: int | None, excluded: set[str], log: Path
) -> None:
    """What kept the suite from running at all: the target, its adapter, or the usage."""
    if "load_error" in data:
        raise TargetLoadError(data["load_error"])
    if "adapter_error" in data:
        raise TargetLoadError(data["adapter_error"], what="adapter")
    if "usage_error" in data:
        raise RunUsageError(data["usage_error"])
    if returncode == 5 and not excluded:  # pytest's "no tests collected"
        raise RunUsageError(f"the suite collected no tests: {_tail(log, 1)}")


def _crash(
    journal: Path,
    log: Path,
    returncode: int | None,
    running: tuple[str, str, list[str]] | None,
    test_timeout: float,
) -> tuple[str, TestResult | None]:
    """How the process ended early, and the test it was running then (an error result)."""
    fault_path = Path(f"{journal}.faults")
    hung = fault_path.is_file() and fault_path.read_text("utf-8", errors="replace").startswith(
        "Timeout ("
    )
    faults = _tail(fault_path, 40)  # faulthandler's traceback of a crash or a hang
    crash = _describe_exit(returncode, running[0] if running else None, hung, test_timeout)
    if running is None:
        return crash, None
    name, family, clauses = running
    crashed_test = TestResult(
        id=name,
        family=family,
        clauses=clauses,
        apis=[],
        outcome="error",
        duration=0.0,
        message=f"crashed: {crash}\n{faults or _tail(log)}",
        replay=_crash_replay(Path(f"{journal}.transcript"), crash),
    )
    return crash, crashed_test


def _suite_environment() -> dict[str, str]:
    """This process's environment, with the import path the caller sees.

    The suite's process runs in a work directory, so relative PYTHONPATH entries are made
    absolute, and the caller's directory is added: a target importable here is importable there.
    """
    env = dict(os.environ)
    entries = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), *(os.path.abspath(p) for p in entries)])
    return env


def _follow(
    process: subprocess.Popen[bytes], journal: Path, product_id: str, progress: Progress | None
) -> None:
    """Wait for ``process``, reporting progress from its journal while it runs."""
    total = done = 0
    family = ""
    position = 0
    while True:
        finished = process.poll() is not None
        if journal.is_file():
            with open(journal, encoding="utf-8") as stream:
                stream.seek(position)
                chunk = stream.read()
                position = stream.tell()
            for line in chunk.splitlines():
                words = line.split()
                if words[:1] == ["total"]:
                    total = int(words[1])
                elif words[:1] == ["start"] and len(words) >= 3:
                    if progress and family and words[2] != family:
                        progress(product_id, family, done, total)
                    family = words[2]
                elif words[:1] == ["end"]:
                    done += 1
        if finished:
            break
        time.sleep(0.2)
    if progress and family:
        progress(product_id, family, done, total)


def _journal_state(journal: Path) -> tuple[bool, tuple[str, str, list[str]] | None]:
    """(whether the session finished, the test started but not ended, if any)."""
    if not journal.is_file():
        return False, None
    running: tuple[str, str, list[str]] | None = None
    finished = False
    for line in journal.read_text("utf-8").splitlines():
        words = line.split()
        if words[:1] == ["start"] and len(words) >= 3:
            clauses = words[3].split(",") if len(words) > 3 and words[3] != "-" else []
            running = (words[1], words[2], clauses)
        elif words[:1] == ["end"]:
            running = None
        elif words[:1] == ["finished"]:
            finished = True
    return finished, running


def _crash_replay(live: Path, crash: str) -> str:
    """The calls of the example the test process died in, the call in progress last: run, the
    replay dies the same way (or hangs) where the target still does."""
    text = live.read_text("utf-8", errors="replace").strip() if live.is_file() else ""
    return f"{text}\n# {crash}, in the last call above\n" if text else ""


def _describe_exit(
    code: int | None, running: str | None, hung: bool = False, timeout: float = 0.0
) -> str:
    if hung:
        how = f"hung and was stopped after {timeout:g} s"
    elif code is not None and code < 0:
        how = f"killed by {signal.Signals(-code).name}"
    else:
        how = f"exited with status {code}"
    where = f" while running {running}" if running else " outside any test"
    return f"the test process {how}{where}"


def _tail(path: Path, lines: int = 30) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text("utf-8", errors="replace").splitlines()[-lines:])


def run_products(
    product_ids: Sequence[str],
    options: RunOptions,
    out_dir: Path,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> list[RunResult]:
    """Run several product lines, ``jobs`` at a time (default: two, or one per core if fewer)."""
    spec = load_spec()
    seed = options.seed or random.randrange(1, 2**31)
    options = RunOptions(**{**options.__dict__, "seed": seed})
    workers = jobs or max(1, min(2, os.cpu_count() or 1))
    lock = threading.Lock()

    def report(product_id: str, family: str, done: int, total: int) -> None:
        if progress:
            with lock:
                progress(product_id, family, done, total)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(run_product, pid, options, out_dir, progress=report, spec=spec)
            for pid in product_ids
        ]
        return [future.result() for future in futures]


def rerun(
    impl: str,
    product: str,
    test_ids: list[str],
    *,
    adapter: str | None,
    profile: str,
    seed: int,
    level: str = "document",
) -> dict[str, str]:
    """Run only ``test_ids`` again (for `report diff`); returns test id -> outcome."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="datadist-rerun-") as scratch:
        options = RunOptions(
            impl=impl,
            adapter=adapter,
            profile=profile,
            seed=seed,
            level=level,
            only=tuple(test_ids),
        )
        run = run_product(product, options, Path(scratch))
    return {test.id: test.outcome for test in run.tests}
