"""Realistic runs to render: every outcome, a crash, stale expectations, Chinese clause text,
and hostile text (markup, quotes, control characters, backticks) where users supply it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datadist_conformance.results import RunResult, TestResult
from datadist_conformance.speclib import Spec, load_spec

SPEC_HASH = "acc20b8e064c17a0c287fb2ca4d9fe8f7808cd1af3f8b471d1d4256c8981fb27"

#: Text a target controls (exception messages, reprs) that a report must show, not execute.
HOSTILE = '<script>alert("pwned")</script> & <img src=x onerror=alert(1)> | `tick` **bold**'

REPLAY = """\
from datadist_conformance import replay
m, adapter = replay.target("llm_datadist_ref", adapter=None)
dd = m.LLMDataDist(m.LLMRole.PROMPT, 0)
cache = dd.cache_manager.allocate_cache(desc, [m.CacheKey(1, 2**64 - 1, 0)])
assert cache.tensor_addrs  # ```not a fence```
"""

PRODUCTS = {
    "atlas-a3": (
        "Atlas A3 训练系列产品/Atlas A3 推理系列产品",
        "Atlas A3 training and inference series",
    ),
    "atlas-800i-a2": (
        "Atlas 800I A2 推理产品/A200I A2 Box 异构组件",
        "Atlas 800I A2 inference server",
    ),
    "atlas-a2-training": ("Atlas A2 训练系列产品", "Atlas A2 training series"),
}


def make_test(
    test_id: str,
    outcome: str,
    clauses: list[str],
    apis: list[str],
    family: str = "negative",
    duration: float = 0.125,
    **fields: Any,
) -> TestResult:
    return TestResult(test_id, family, clauses, apis, outcome, duration, **fields)


def make_run(product_id: str, tests: list[TestResult], **fields: Any) -> RunResult:
    name, name_en = PRODUCTS[product_id]
    supported = product_id != "atlas-a2-training"
    base: dict[str, Any] = {
        "suite_version": "0.1.0",
        "spec_hash": SPEC_HASH,
        "implementation": {
            "module": "llm_datadist_ref",
            "name": "llm_datadist_ref",
            "version": "0.1.0",
            "adapter": "default",
        },
        "product": {
            "id": product_id,
            "name": name,
            "name_en": name_en,
            "feature_sets": {
                "legacy-cache-manager": supported,
                "cache-manager": supported,
                "core": True,
            },
        },
        "profile": "ci",
        "seed": 20240601,
        "started": "2025-11-27T09:00:00Z",
        "finished": "2025-11-27T09:00:42.5Z",
        "tests": tests,
        "environment": {"python": "3.11.7", "platform": "Linux-x86_64", "hostname": "ci-runner-7"},
    }
    base.update(fields)
    return RunResult(**base)


def a3_tests() -> list[TestResult]:
    """One test per outcome on atlas-a3, plus a stale expectation."""
    alloc = "CacheManager.allocate_cache"
    return [
        make_test(
            "clauses::allocate_cache.returns.cache",
            "pass",
            ["allocate_cache.returns.cache"],
            [alloc],
            family="surface",
        ),
        make_test(
            "clauses::allocate_cache.keys.placeholder",
            "fail",
            ["allocate_cache.keys.placeholder", "allocate_cache.keys.count_within_batch"],
            [alloc],
            family="data",
            message=f"placeholder key was bound: {HOSTILE}\nsecond line of the message",
            replay=REPLAY,
            call="allocate_cache(desc, [CacheKey(1, 2**64-1, 0)])",
            expected="no key bound for batch index 0",
            observed="CacheKey(1, 18446744073709551615, 0) bound | 键已绑定",
            examples=25,
        ),
        make_test(
            "clauses::copy_cache.size.range",
            "error",
            ["copy_cache.size.range"],
            ["CacheManager.copy_cache"],
            message="Traceback (most recent call last):\n  RuntimeError: \x1b[31mboom\x1b[0m \x00",
            replay="copy_cache(dst, src, size=0)",
        ),
        make_test(
            "clauses::allocate_cache.keys.duplicate_last_wins",
            "expected-fail",
            ["allocate_cache.keys.duplicate_last_wins"],
            [alloc],
            message=f"the vendor rejects duplicate keys (E-duplicate-keys-vendor-rejects) {HOSTILE}",
        ),
        make_test(
            "clauses::allocate_cache.raises.timeout",
            "untestable",
            ["allocate_cache.raises.timeout"],
            [alloc],
            message="the adapter cannot delay operations (no fault injection)",
        ),
        make_test(
            "products::pull_blocks.unsupported",
            "not-applicable",
            ["pull_blocks.signature"],
            ["CacheManager.pull_blocks"],
            family="products",
            message="CacheManager.pull_blocks is not supported on this product line",
        ),
        make_test(
            "clauses::mem_pool_cfg.page_alignment",
            "pass",
            ["mem_pool_cfg.page_alignment"],
            ["LLMConfig.mem_pool_cfg"],
            family="config",
            stale_expectation="alignment rounds down (ISSUE-12)",
            examples=100,
            duration=1.5,
        ),
    ]


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture
def a3_run() -> RunResult:
    """Every outcome, a stale and an unused expectation: not certified."""
    return make_run("atlas-a3", a3_tests(), unused_expectations=["clauses::swap_blocks.gone"])


@pytest.fixture
def crashed_run() -> RunResult:
    """Passed what it ran, then the target died: not certified."""
    tests = [t for t in a3_tests() if t.outcome == "pass" and not t.stale_expectation]
    return make_run("atlas-800i-a2", tests, crashed="target process died with SIGSEGV (exit -11)")


@pytest.fixture
def na_run() -> RunResult:
    """A line without the legacy CacheManager: everything applicable passes, so certified."""
    tests = [
        make_test(
            "products::allocate_cache.unsupported",
            "not-applicable",
            ["allocate_cache.signature"],
            ["CacheManager.allocate_cache"],
            family="products",
            message="not supported on atlas-a2-training",
        ),
        make_test(
            "surface::CacheKey", "pass", ["CacheKey.signature"], ["CacheKey"], family="surface"
        ),
    ]
    return make_run("atlas-a2-training", tests)


@pytest.fixture
def runs(a3_run: RunResult, crashed_run: RunResult, na_run: RunResult) -> list[RunResult]:
    return [a3_run, crashed_run, na_run]


def write_set(directory: Path, runs: list[RunResult]) -> Path:
    """``directory/<product>/results.json`` for each run, as `run --out` writes them."""
    for run in runs:
        run.write(directory / run.product["id"] / "results.json")
    return directory


def with_outcome(run: RunResult, test_id: str, outcome: str) -> RunResult:
    """A copy of ``run`` in which ``test_id`` has ``outcome``."""
    changed = copy.deepcopy(run)
    for test in changed.tests:
        if test.id == test_id:
            test.outcome = outcome
            return changed
    raise KeyError(test_id)


@pytest.fixture(name="make_run")
def make_run_fixture() -> Callable[..., RunResult]:
    return make_run


@pytest.fixture(name="make_test")
def make_test_fixture() -> Callable[..., TestResult]:
    return make_test


@pytest.fixture(name="write_set")
def write_set_fixture() -> Callable[[Path, list[RunResult]], Path]:
    return write_set


@pytest.fixture(name="with_outcome")
def with_outcome_fixture() -> Callable[[RunResult, str, str], RunResult]:
    return with_outcome


@pytest.fixture(name="hostile")
def hostile_fixture() -> str:
    return HOSTILE
