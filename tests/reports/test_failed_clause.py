"""A failing test that checks several clauses marks only the clause whose check failed."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import pytest

from datadist_conformance.reports import (
    index_data,
    render_html_report,
    render_junit,
    render_summary_markdown,
)
from datadist_conformance.results import RunResult
from datadist_conformance.speclib import Spec

CHECKED = [
    "allocate_cache.refs.held_by_id_and_keys",
    "deallocate_cache.absent_noop",
    "remove_cache_key.absent_noop",
]


@pytest.fixture
def machine_run(make_run: Callable[..., RunResult], make_test: Callable[..., Any]) -> RunResult:
    apis = [
        "CacheManager.allocate_cache",
        "CacheManager.deallocate_cache",
        "CacheManager.remove_cache_key",
    ]
    failing = make_test(
        "test_lifecycle_state_machine",
        "fail",
        CHECKED,
        apis,
        family="stateful",
        failed_clause="deallocate_cache.absent_noop",
        message="[deallocate_cache.absent_noop] deallocating an absent cache is a no-op",
        replay="state = LifecycleMachine()\nstate.deallocate(cache_id=7)",
    )
    return make_run("atlas-a3", [failing])


def test_only_the_failed_clause_fails(machine_run: RunResult, spec: Spec) -> None:
    assert machine_run.failing_clauses == ["deallocate_cache.absent_noop"]
    page = render_html_report(machine_run, spec)
    tile_of = {
        clause: outcome
        for outcome, clause in re.findall(
            r'<a class="tile o-([a-z-]+)"[^>]*href="#clause-([^"]+)"', page
        )
    }
    assert tile_of["deallocate_cache.absent_noop"] == "fail"
    assert tile_of["remove_cache_key.absent_noop"] == "no-test"
    assert tile_of["allocate_cache.refs.held_by_id_and_keys"] == "no-test"


def test_index_blames_only_the_failed_clauses_api(machine_run: RunResult, spec: Spec) -> None:
    matrix = index_data([machine_run], spec)["matrix"]
    assert matrix["CacheManager.deallocate_cache"]["atlas-a3"] == "fail"
    assert matrix["CacheManager.remove_cache_key"]["atlas-a3"] == "no-test"


def test_markdown_and_junit_name_the_failed_clause(machine_run: RunResult, spec: Spec) -> None:
    text = render_summary_markdown(machine_run, spec)
    assert "## Failing clauses (1)" in text
    assert "### `deallocate_cache.absent_noop` of `CacheManager.deallocate_cache`: fail" in text
    case = ET.fromstring(render_junit(machine_run)).find("testsuite/testcase")
    assert case is not None
    props = [(p.attrib["name"], p.attrib["value"]) for p in case.iter("property")]
    assert ("failed_clause", "deallocate_cache.absent_noop") in props
    assert [v for n, v in props if n == "clause"] == CHECKED
