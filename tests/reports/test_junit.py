"""junit.xml parses, counts like CI systems count, and carries clause IDs and replays."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from datadist_conformance.reports import render_junit
from datadist_conformance.results import RunResult


def parse(run: RunResult) -> ET.Element:
    return ET.fromstring(render_junit(run).encode("utf-8"))


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in root.iter("testcase")}


def test_totals_count_each_outcome_once(a3_run: RunResult) -> None:
    root = parse(a3_run)
    assert root.tag == "testsuites"
    totals = {k: root.attrib[k] for k in ("tests", "failures", "errors", "skipped")}
    assert totals == {"tests": "7", "failures": "1", "errors": "1", "skipped": "3"}
    suites = root.findall("testsuite")
    assert sum(int(s.attrib["tests"]) for s in suites) == 7
    assert {s.attrib["name"] for s in suites} == {
        "atlas-a3.surface",
        "atlas-a3.data",
        "atlas-a3.negative",
        "atlas-a3.products",
        "atlas-a3.config",
    }


def test_testcase_names_api_test_and_clauses(a3_run: RunResult) -> None:
    case = cases(parse(a3_run))["clauses::allocate_cache.keys.placeholder"]
    assert case.attrib["classname"] == "CacheManager.allocate_cache"
    clauses = [p.attrib["value"] for p in case.iter("property") if p.attrib["name"] == "clause"]
    assert clauses == ["allocate_cache.keys.placeholder", "allocate_cache.keys.count_within_batch"]
    assert float(case.attrib["time"]) == 0.125


def test_failure_carries_message_details_and_replay(a3_run: RunResult, hostile: str) -> None:
    failure = cases(parse(a3_run))["clauses::allocate_cache.keys.placeholder"].find("failure")
    assert failure is not None
    assert hostile in failure.attrib["message"]  # escaped by XML, restored by the parser
    body = failure.text or ""
    assert "observed: CacheKey(1, 18446744073709551615, 0) bound | 键已绑定" in body
    assert 'replay.target("llm_datadist_ref", adapter=None)' in body


def test_error_with_control_characters_still_parses(a3_run: RunResult) -> None:
    error = cases(parse(a3_run))["clauses::copy_cache.size.range"].find("error")
    assert error is not None
    assert "\\x1b[31mboom" in (error.text or "")
    assert "\\x00" in (error.text or "")


def test_skips_say_why(a3_run: RunResult) -> None:
    by_name = cases(parse(a3_run))
    messages = {
        name: skipped.attrib["message"]
        for name, case in by_name.items()
        if (skipped := case.find("skipped")) is not None
    }
    assert messages["clauses::allocate_cache.keys.duplicate_last_wins"].startswith(
        "expected failure, listed in the expectation file: the vendor rejects"
    )
    assert "cannot delay operations" in messages["clauses::allocate_cache.raises.timeout"]
    assert messages["products::pull_blocks.unsupported"].startswith("not applicable on atlas-a3")
    assert "clauses::allocate_cache.returns.cache" not in messages


def test_stale_expectation_is_visible(a3_run: RunResult) -> None:
    case = cases(parse(a3_run))["clauses::mem_pool_cfg.page_alignment"]
    out = case.find("system-out")
    assert out is not None
    assert "stale expectation" in (out.text or "")


def test_crash_is_an_error_case(crashed_run: RunResult) -> None:
    root = parse(crashed_run)
    assert root.attrib["errors"] == "1"
    crash = cases(root)["run::completed"].find("error")
    assert crash is not None
    assert "SIGSEGV" in crash.attrib["message"]


def test_run_metadata_is_in_suite_properties(na_run: RunResult) -> None:
    suite = parse(na_run).find("testsuite")
    assert suite is not None
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert props["product"] == "atlas-a2-training"
    assert props["seed"] == "20240601"
    assert props["certified"] == "yes"
    assert suite.attrib["timestamp"] == "2025-11-27T09:00:00Z"
