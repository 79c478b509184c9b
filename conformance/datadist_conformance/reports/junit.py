"""JUnit XML for CI systems (GitLab, Jenkins, GitHub test reporters): one file per product line.

One ``<testsuite>`` per test family. Each ``<testcase>`` has the API as its
classname and the test id as its name, with the clause IDs as properties.
``fail`` becomes ``<failure>`` and ``error`` becomes ``<error>``; both carry the
replay snippet. Every other outcome that is not a pass becomes ``<skipped>``
with its reason. A crashed run adds an errored ``run`` case, so a crash can
never look green.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from ..results import RunResult, TestResult
from .facts import printable

__all__ = ["render_junit"]

_xml_text = printable


def _seconds(value: float) -> str:
    return f"{value:.3f}"


def _counts(tests: Iterable[TestResult]) -> dict[str, str]:
    tests = list(tests)
    skipped = {"expected-fail", "untestable", "not-applicable"}
    return {
        "tests": str(len(tests)),
        "failures": str(sum(t.outcome == "fail" for t in tests)),
        "errors": str(sum(t.outcome == "error" for t in tests)),
        "skipped": str(sum(t.outcome in skipped for t in tests)),
        "time": _seconds(sum(t.duration for t in tests)),
    }


def _run_properties(run: RunResult) -> list[tuple[str, str]]:
    impl = run.implementation
    return [
        ("product", run.product["id"]),
        ("product_name", run.product.get("name", "")),
        ("implementation", impl.get("module", "")),
        ("implementation_name", impl.get("name", "")),
        ("implementation_version", impl.get("version", "")),
        ("adapter", impl.get("adapter", "")),
        ("capabilities", impl.get("capabilities", "")),
        ("suite_version", run.suite_version),
        ("spec_hash", run.spec_hash),
        ("level", run.level),
        ("profile", run.profile),
        ("seed", str(run.seed)),
        ("certified", "yes" if run.certified else "no"),
        ("verdict", run.verdict),
    ]


def _add_properties(parent: ET.Element, pairs: Iterable[tuple[str, str]]) -> None:
    properties = ET.SubElement(parent, "properties")
    for name, value in pairs:
        ET.SubElement(properties, "property", name=name, value=_xml_text(value))


def _failure_body(test: TestResult) -> str:
    parts = [test.message]
    details = [
        f"{label}: {value}"
        for label, value in (
            ("call", test.call),
            ("expected", test.expected),
            ("observed", test.observed),
        )
        if value
    ]
    if details:
        parts.append("\n".join(details))
    parts.append(f"clauses: {', '.join(test.failing_clauses or test.clauses) or '(none)'}")
    if test.replay:
        parts.append(f"replay:\n{test.replay}")
    return _xml_text("\n\n".join(part for part in parts if part))


def _skip_message(test: TestResult, product_id: str) -> str:
    reason = test.message or "no reason given"
    if test.outcome == "expected-fail":
        return f"expected failure, listed in the expectation file: {reason}"
    if test.outcome == "not-applicable":
        return f"not applicable on {product_id}: {reason}"
    return f"untestable (the target or its adapter lacks a capability): {reason}"


def _testcase(parent: ET.Element, test: TestResult, product_id: str) -> None:
    case = ET.SubElement(
        parent,
        "testcase",
        classname=test.apis[0] if test.apis else test.family,
        name=_xml_text(test.id),
        time=_seconds(test.duration),
    )
    pairs = [("clause", clause) for clause in test.clauses]
    pairs += [("api", api) for api in test.apis]
    if test.failed_clause:
        pairs.append(("failed_clause", test.failed_clause))
    pairs.append(("outcome", test.outcome))
    if test.examples is not None:
        pairs.append(("hypothesis_examples", str(test.examples)))
    if test.stale_expectation:
        pairs.append(("stale_expectation", test.stale_expectation))
    _add_properties(case, pairs)
    if test.outcome in ("fail", "error"):
        element = "failure" if test.outcome == "fail" else "error"
        node = ET.SubElement(
            case, element, message=_xml_text(test.message or test.outcome), type=test.outcome
        )
        node.text = _failure_body(test)
    elif test.outcome != "pass":
        ET.SubElement(
            case, "skipped", message=_xml_text(_skip_message(test, product_id)), type=test.outcome
        )
    if test.stale_expectation:
        out = ET.SubElement(case, "system-out")
        out.text = _xml_text(
            f"stale expectation: listed as failing ({test.stale_expectation}), "
            f"but the outcome is {test.outcome}; remove the entry"
        )


def _suite(root: ET.Element, name: str, run: RunResult, counts: dict[str, str]) -> ET.Element:
    attributes = {"name": name, **counts}
    if run.started:
        attributes["timestamp"] = run.started
    suite = ET.SubElement(root, "testsuite", attributes)
    _add_properties(suite, _run_properties(run))
    return suite


def render_junit(run: RunResult) -> str:
    """The JUnit XML document of one product line's run."""
    product_id = run.product["id"]
    families: dict[str, list[TestResult]] = {}
    for test in run.tests:
        families.setdefault(test.family, []).append(test)

    impl = run.implementation.get("module", "")
    root = ET.Element("testsuites", name=f"datadist-conformance {impl} on {product_id}")
    for family, tests in families.items():
        suite = _suite(root, f"{product_id}.{family}", run, _counts(tests))
        for test in tests:
            _testcase(suite, test, product_id)

    crash_errors = 0
    if run.crashed:
        crash_errors = 1
        counts = {"tests": "1", "failures": "0", "errors": "1", "skipped": "0", "time": "0.000"}
        suite = _suite(root, f"{product_id}.run", run, counts)
        case = ET.SubElement(
            suite, "testcase", classname="run", name="run::completed", time="0.000"
        )
        node = ET.SubElement(
            case, "error", message=_xml_text(f"the run crashed: {run.crashed}"), type="crash"
        )
        node.text = _xml_text(
            f"The target process died: {run.crashed}\n"
            "Tests after the crash did not run; the product line is not certified."
        )

    totals = _counts(run.tests)
    totals["tests"] = str(len(run.tests) + crash_errors)
    totals["errors"] = str(int(totals["errors"]) + crash_errors)
    root.attrib.update(totals)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
