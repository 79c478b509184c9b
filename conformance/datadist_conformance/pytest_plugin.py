"""pytest plugin of the conformance suite (registered through the pytest11 entry point).

It is inert in other test runs (installing the package must not change a
project's pytest runs): its options are registered, but nothing else happens -
no spec loading, no target import, no faulthandler timeouts, no output - unless
one of its options is given (the runner always gives them) or the test is one of
the suite's own (``pytest --pyargs datadist_conformance.suite``).

Per test it records the outcome words of the suite (pass, fail, error,
expected-fail, untestable, not-applicable), the clause IDs, the failure's
call/expected/observed and replay snippet, into ``--datadist-results``; and it
keeps a journal (``--datadist-journal``) so that the CLI can tell which test was
running if the target crashes or hangs the process.
"""

from __future__ import annotations

import faulthandler
import json
import os
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .checks import (
    NOT_APPLICABLE,
    UNTESTABLE,
    UNTESTABLE_EVERYWHERE,
    ConformanceFailure,
    PreconditionError,
)
from .context import SuiteContext
from .expectations import Expectation, load_expectations
from .peer.mode import PEER_MODES, resolve_peer_mode
from .profiles import PROFILES, load_profile
from .recorder import Recorder
from .results import TestResult
from .speclib import LEVELS, load_spec
from .target import AdapterLoadError, load_target
from .transcript import LiveFile

_STATE_KEY = pytest.StashKey["_PluginState"]()

#: The suite's test modules: their tests are the plugin's even when no option names it.
SUITE_DIR = Path(__file__).resolve().parent / "suite"

#: Options that ask for the suite (the others only tune it, and have defaults).
_REQUESTING_OPTIONS = (
    "--datadist-impl",
    "--datadist-adapter",
    "--datadist-product",
    "--datadist-expectations",
    "--datadist-results",
    "--datadist-journal",
    "--datadist-only",
    "--datadist-collect",
    "--datadist-exclude",
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("datadist-conformance")
    group.addoption(
        "--datadist-impl", default=None, help="module under test (default: the bundled reference)"
    )
    group.addoption("--datadist-adapter", default=None, help="adapter as module:attr")
    group.addoption(
        "--datadist-level",
        default="document",
        choices=LEVELS,
        help="certification level: document (default) or as-shipped",
    )
    group.addoption("--datadist-product", default=None, help="product line id (default atlas-a3)")
    group.addoption(
        "--datadist-peer",
        default="auto",
        choices=PEER_MODES,
        help="where the DECODER of a linked pair lives: process (a helper process), inprocess, "
        "or auto (process when the target refuses a second engine in one process)",
    )
    group.addoption(
        "--datadist-profile", default="ci", choices=sorted(PROFILES), help="hypothesis profile"
    )
    group.addoption("--datadist-expectations", default=None, help="YAML file of expected failures")
    group.addoption("--datadist-results", default=None, help="write per-test results (JSON) here")
    group.addoption("--datadist-journal", default=None, help="append test start/end lines here")
    group.addoption(
        "--datadist-test-timeout", type=float, default=300.0, help="kill the run if one test hangs"
    )
    group.addoption("--datadist-only", default=None, help="file of test ids: run only these")
    group.addoption(
        "--datadist-collect",
        default=None,
        help="write {test id: [clause ids]} (JSON) at collection",
    )
    group.addoption("--datadist-exclude", default=None, help="file of test ids: leave these out")


class _PluginState:
    def __init__(self, config: pytest.Config) -> None:
        option = config.getoption
        self.product: str = option("--datadist-product") or "atlas-a3"
        self.impl: str | None = option("--datadist-impl")
        self.adapter: str | None = option("--datadist-adapter")
        self.profile: str = option("--datadist-profile")
        self.level: str = option("--datadist-level")
        self.peer: str = option("--datadist-peer")
        self.timeout: float = option("--datadist-test-timeout")
        self.results_path = (
            Path(option("--datadist-results")) if option("--datadist-results") else None
        )
        journal = option("--datadist-journal")
        # faulthandler writes here (not to pytest's captured stderr), so that a crash or a hang
        # leaves its traceback for the runner to report.
        self.faults = open(f"{journal}.faults", "w", encoding="utf-8") if journal else None  # noqa: SIM115
        if self.faults is not None:
            faulthandler.enable(file=self.faults)
        self.journal = (
            open(option("--datadist-journal"), "a", encoding="utf-8")  # noqa: SIM115 - open all session
            if option("--datadist-journal")
            else None
        )
        #: the running example's calls, which the runner makes the replay of a test that dies
        self.live = LiveFile(f"{journal}.transcript") if journal else None
        path = option("--datadist-expectations")
        self.expectations: list[Expectation] = load_expectations(Path(path)) if path else []
        self.used_expectations: set[int] = set()
        self.only = _read_ids(option("--datadist-only"))
        self.exclude = _read_ids(option("--datadist-exclude")) or set()
        self.results: dict[str, TestResult] = {}
        self.recorders: dict[str, Recorder] = {}  #: node id -> the running test's recorder
        self.seed = int(config.getoption("--hypothesis-seed", default=None) or 0)
        self.requested = any(option(name) is not None for name in _REQUESTING_OPTIONS)
        self._context: SuiteContext | None = None

    def context(self) -> SuiteContext:
        if self._context is None:
            spec = load_spec()
            if self.product not in {p.id for p in spec.products}:
                raise pytest.UsageError(f"unknown product line {self.product!r}")
            target = load_target(self.impl, self.adapter)
            self._context = SuiteContext(
                target=target,
                spec=spec,
                product_id=self.product,
                profile=self.profile,
                seed=self.seed,
                adapter_spec=self.adapter,
                level=self.level,
                peer_mode=resolve_peer_mode(target, self.peer, self.product),
                live=self.live,
            )
        return self._context

    def log(self, line: str) -> None:
        if self.journal is not None:
            self.journal.write(line + "\n")
            self.journal.flush()
            os.fsync(self.journal.fileno())


def _read_ids(path: str | None) -> set[str] | None:
    if not path:
        return None
    return {line.strip() for line in Path(path).read_text("utf-8").splitlines() if line.strip()}


def _state(config: pytest.Config) -> _PluginState:
    return config.stash[_STATE_KEY]


def pytest_configure(config: pytest.Config) -> None:
    state = _PluginState(config)
    config.stash[_STATE_KEY] = state
    if config.getoption("--datadist-product"):
        load_profile(state.profile)
        bound_shrinking(state.timeout)


def bound_shrinking(test_timeout: float) -> int:
    """Stop shrinking a found failure after a quarter of the per-test limit (at most 60 s).

    Hypothesis shrinks for up to five minutes, as long as the default per-test
    limit: a target whose failure is slow to shrink would be reported as a hung
    test (error) instead of a failure with its replay. The bound is a module
    constant of hypothesis' engine (no setting exists); returns the bound set.
    """
    from hypothesis.internal.conjecture import engine

    seconds = int(max(1.0, min(60.0, test_timeout / 4)))
    engine.MAX_SHRINKING_SECONDS = seconds
    return seconds


@pytest.fixture(scope="session")
def suite_context(request: pytest.FixtureRequest) -> SuiteContext:
    """The target, spec and product line of this run."""
    return _state(request.config).context()


@pytest.fixture
def recorder(request: pytest.FixtureRequest) -> Recorder:
    """This test's examples and exercised clauses, read into its result."""
    node = request.node
    made = Recorder(test_id=_test_name(node))
    _state(request.config).recorders[node.nodeid] = made
    return made


def _test_name(item: pytest.Item) -> str:
    return item.nodeid.split("::", 1)[-1]


def _clauses(item: pytest.Item) -> list[str]:
    return [clause for mark in item.iter_markers("clause") for clause in mark.args]


def _family(item: pytest.Item) -> str:
    mark = item.get_closest_marker("family")
    return str(mark.args[0]) if mark else "surface"


def _ours(item: pytest.Item) -> bool:
    """Whether the plugin acts on ``item``: the suite was asked for, or it is a suite test."""
    return _state(item.config).requested or Path(item.path).resolve().is_relative_to(SUITE_DIR)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _state(config)
    if not state.requested:
        return  # selection, expectations and the journal all come from options
    if state.only is not None:
        unknown = sorted(state.only - {_test_name(item) for item in items})
        if unknown:
            _abort(state, "usage_error", f"no such test: {', '.join(unknown)}")
    if state.only is not None or state.exclude:
        keep = [i for i in items if _selected(state, _test_name(i))]
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
    _group_by_family(items)
    for item in items:
        for index, expectation in enumerate(state.expectations):
            if expectation.matches(_test_name(item), _clauses(item), state.product):
                state.used_expectations.add(index)
    state.log(f"total {len(items)}")
    collect_path = config.getoption("--datadist-collect")
    if collect_path:
        tests = {
            _test_name(item): {"clauses": _clauses(item), "family": _family(item)} for item in items
        }
        Path(collect_path).write_text(json.dumps(tests, indent=1), "utf-8")


def _group_by_family(items: list[pytest.Item]) -> None:
    """Run the tests family by family (stable within one), so that progress, which the runner
    prints when a family is done, is one line per family and product line in a CI log."""
    from .templates import FAMILIES

    rank = {family: index for index, family in enumerate(FAMILIES)}
    items.sort(key=lambda item: rank.get(_family(item), len(rank)))


def _abort(state: _PluginState, key: str, message: str) -> None:
    """End the session before any test runs, telling the runner why (``key``: the kind of error)."""
    if state.results_path is not None:
        state.results_path.parent.mkdir(parents=True, exist_ok=True)
        state.results_path.write_text(json.dumps({key: message}), "utf-8")
    state.log("finished")
    pytest.exit(message, returncode=4)


def _selected(state: _PluginState, name: str) -> bool:
    return (state.only is None or name in state.only) and name not in state.exclude


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    if not _ours(item):
        return (yield)
    state = _state(item.config)
    state.log(f"start {_test_name(item)} {_family(item)} {','.join(_clauses(item)) or '-'}")
    if state.live is not None:
        state.live.rewrite("")  # no calls of an earlier test in the replay of this one
    if state.faults is not None:
        faulthandler.dump_traceback_later(state.timeout, exit=True, file=state.faults)
    else:
        faulthandler.dump_traceback_later(state.timeout, exit=True)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()
        result = state.results.get(item.nodeid)
        state.log(f"end {_test_name(item)} {result.outcome if result else 'unknown'}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    if not _ours(item):
        return report
    state = _state(item.config)
    if report.when == "setup":
        state.results[item.nodeid] = TestResult(
            id=_test_name(item),
            family=_family(item),
            clauses=_clauses(item),
            apis=_apis(item, state),
            outcome="pass",
            duration=0.0,
        )
    result = state.results[item.nodeid]
    result.duration += report.duration
    if report.skipped:
        _skipped(result, report)
    elif report.failed:
        _failed(result, report, call, report.when)
        if result.outcome == "fail":
            _expected_failure(state, result, report)
    if report.when == "teardown":
        _read_recorder(result, state.recorders.pop(item.nodeid, None))
        if result.outcome == "pass":
            result.stale_expectation = _stale_expectation(state, result)
    return report


def _read_recorder(result: TestResult, recorder: Recorder | None) -> None:
    """Examples and clause counts into the result; a pass that left clauses unexercised says so."""
    if recorder is None:
        return
    result.examples = recorder.examples or None
    result.exercised = dict(sorted(recorder.exercised.items()))
    if result.outcome == "pass" and recorder.unexercised:
        result.unexercised = sorted(recorder.unexercised)
        result.message = "untestable in this run (never exercised): " + "; ".join(
            f"{clause} ({why})" for clause, why in sorted(recorder.unexercised.items())
        )


def _expected_failure(state: _PluginState, result: TestResult, report: pytest.TestReport) -> None:
    """A failure on exactly the clause (or test) an expectation names becomes expected-fail.

    A test that carries several clauses and fails on another one stays a failure.
    """
    for expectation in state.expectations:
        if expectation.covers(result.id, result.failed_clause, state.product):
            result.outcome = "expected-fail"
            result.message = f"expected to fail: {expectation.reason}\n{result.message}"
            report.outcome = "skipped"  # what pytest's own xfail does, so its summary agrees
            report.wasxfail = f"expected to fail: {expectation.reason}"
            return


def _stale_expectation(state: _PluginState, result: TestResult) -> str:
    """The reason of an expectation that names this passing test or a clause it exercised."""
    checked = [c for c in result.clauses if c not in result.unexercised]
    for expectation in state.expectations:
        if expectation.matches(result.id, checked, state.product):
            return expectation.reason
    return ""


def _apis(item: pytest.Item, state: _PluginState) -> list[str]:
    spec = state.context().spec
    apis = []
    for clause_id in _clauses(item):
        try:
            apis.append(spec.clause(clause_id).api_id)
        except KeyError:
            apis.append("?")
    return sorted(set(apis))


def _skipped(result: TestResult, report: pytest.TestReport) -> None:
    if hasattr(report, "wasxfail"):
        result.outcome = "expected-fail"
        result.message = str(report.wasxfail)
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    reason = reason.removeprefix("Skipped: ")
    if reason.startswith(NOT_APPLICABLE):
        result.outcome, result.message = "not-applicable", reason.removeprefix(NOT_APPLICABLE)
    elif reason.startswith(UNTESTABLE_EVERYWHERE):
        result.outcome, result.message = "untestable", reason.removeprefix(UNTESTABLE_EVERYWHERE)
        result.untestable_everywhere = True
    else:
        result.outcome, result.message = "untestable", reason.removeprefix(UNTESTABLE)


def _failed(
    result: TestResult, report: pytest.TestReport, call: pytest.CallInfo[None], when: str
) -> None:
    exc = call.excinfo.value if call.excinfo else None
    failure = _find(exc, ConformanceFailure)
    if when == "call" and failure is not None:
        result.outcome = "fail"
        result.message = f"[{failure.clause_id}] {failure.clause_text}"
        result.call, result.expected, result.observed = (
            failure.call,
            failure.expected,
            failure.observed,
        )
        result.replay = failure.replay
        result.failed_clause = failure.clause_id
        return
    # Only a ConformanceFailure says the target broke a clause; anything else (a precondition,
    # a fixture, an assert inside the suite itself) is an error of the check.
    result.outcome = "error"
    precondition = _find(exc, PreconditionError)
    if precondition is not None:
        result.message = str(precondition).split("\n  replay:")[0]
        result.replay = precondition.replay
    else:
        result.message = _short(report.longreprtext)


def _find(exc: BaseException | None, kind: type[BaseException]) -> Any:
    """``exc`` or the first of its kind inside an exception group (hypothesis reports several)."""
    if isinstance(exc, kind):
        return exc
    inner_exceptions = getattr(
        exc, "exceptions", None
    )  # an exception group (3.11+ or the backport)
    if isinstance(inner_exceptions, tuple):
        for inner in inner_exceptions:
            found = _find(inner, kind)
            if found is not None:
                return found
    return None


def _short(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else text[: limit // 2] + "\n...\n" + text[-limit // 2 :]


def pytest_sessionstart(session: pytest.Session) -> None:
    """In a runner's process, load the target first: a target that cannot load ends the run."""
    state = _state(session.config)
    if state.results_path is None:
        return
    try:
        state.context()
    except AdapterLoadError as exc:
        _abort(state, "adapter_error", f"{exc.adapter!r}: {exc}")
    except Exception as exc:
        _abort(state, "load_error", f"{type(exc).__name__}: {exc}")


def _target_facts(state: _PluginState) -> dict[str, object]:
    target = state.context().target
    return {
        "module": target.name,
        "name": target.name,
        "version": target.version,
        "adapter": target.adapter.name,
        "capabilities": sorted(target.adapter.capabilities),
        "peer_mode": state.context().peer_mode,
    }


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = _state(session.config)
    if state.results_path is not None and not state.results_path.is_file():
        unused = [
            f"{e.label}: {e.reason}"
            for i, e in enumerate(state.expectations)
            if i not in state.used_expectations
        ]
        payload = {
            "target": _target_facts(state),
            "tests": [r.to_json() for r in state.results.values()],
            "unused_expectations": unused,
            "finished": time.time(),
        }
        state.results_path.parent.mkdir(parents=True, exist_ok=True)
        state.results_path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), "utf-8")
    if state.journal is not None:
        state.log("finished")
        state.journal.close()
    if state.live is not None:
        state.live.close()
