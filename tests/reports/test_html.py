"""report.html and index.html: self-contained, well-formed, escaped, and complete."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest

from datadist_conformance.reports import (
    index_data,
    render_html_report,
    render_index_html,
    render_index_json,
)
from datadist_conformance.reports.html_page import anchor
from datadist_conformance.reports.outcomes import SYMBOLS
from datadist_conformance.results import RunResult, TestResult
from datadist_conformance.speclib import Spec

VOID = {"meta", "input", "br", "img", "hr", "link"}


class TagChecker(HTMLParser):
    """Records ids and links, and fails on tags that close out of order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "script":
            self._in_script = True
            if "src" in values:
                self.problems.append("external script")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def check(document: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(document)
    checker.close()
    assert checker.problems == []
    assert checker.stack == []
    return checker


@pytest.fixture
def report(a3_run: RunResult, spec: Spec) -> str:
    return render_html_report(a3_run, spec)


def test_report_is_self_contained(report: str) -> None:
    assert not re.search(r"https?://", report)
    assert "<link" not in report
    assert re.search(r"<(img|iframe|object|embed)\b", report) is None
    checker = check(report)
    assert all(h.startswith("#") or h == "../index.html" for h in checker.hrefs)


def test_user_text_is_escaped(report: str, hostile: str) -> None:
    assert "<script>alert" not in report
    assert "<img src=x" not in report
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;" in report
    assert len(check(report).scripts) == 1  # only the report's own filter script
    assert "\x1b" not in report
    assert "\\x1b[31mboom" in report


def test_matrix_has_every_api_and_clause_of_the_spec(report: str, spec: Spec) -> None:
    ids = check(report).ids
    for api in spec.apis:
        assert anchor("api", api.id) in ids
        for clause in api.clauses:
            assert anchor("clause", clause.id) in ids
            assert f'href="#{anchor("clause", clause.id)}"' in report


def test_tiles_are_coloured_by_clause_outcome(report: str) -> None:
    def tile_class(clause_id: str) -> str:
        match = re.search(
            rf'<a class="tile (o-[a-z-]+)"[^>]*href="#clause-{re.escape(clause_id)}"', report
        )
        assert match, clause_id
        return match.group(1)

    assert tile_class("allocate_cache.keys.placeholder") == "o-fail"
    assert tile_class("copy_cache.size.range") == "o-error"
    assert tile_class("allocate_cache.raises.timeout") == "o-untestable"
    assert tile_class("allocate_cache.returns.cache") == "o-pass"
    assert tile_class("swap_blocks.swap_in") == "o-no-test"


def test_failures_expand_with_replay_and_clause_text(report: str, spec: Spec) -> None:
    failure = report.split(f'id="{anchor("failure", "clauses::allocate_cache.keys.placeholder")}"')[
        1
    ]
    failure = failure.split("</details>")[0]
    assert "replay.target(&quot;llm_datadist_ref&quot;, adapter=None)" in failure
    assert 'class="copy"' in failure
    zh = spec.clause("allocate_cache.keys.placeholder").text.zh
    assert zh is not None
    assert zh.strip()[:12] in failure


def test_filters_cover_every_outcome(report: str) -> None:
    for outcome in ("pass", "fail", "error", "expected-fail", "untestable", "not-applicable"):
        assert f'data-filter="{outcome}"' in report
    assert 'data-outcome="expected-fail"' in report


def test_metadata_and_verdicts(report: str, crashed_run: RunResult, spec: Spec) -> None:
    for text in (
        "20240601",
        "acc20b8e064c",
        "NOT CERTIFIED: 1 failing test, 1 erroring test",
        "ci-runner-7",
    ):
        assert text in report
    crashed = render_html_report(crashed_run, spec)
    assert "The run crashed:</strong> target process died with SIGSEGV" in crashed


def test_index_matrix_and_certification(runs: list[RunResult], spec: Spec) -> None:
    data = index_data(runs, spec)
    assert [p["id"] for p in data["products"]] == ["atlas-a3", "atlas-800i-a2", "atlas-a2-training"]
    assert data["certified"] == ["atlas-a2-training"]
    assert data["matrix"]["CacheManager.allocate_cache"] == {
        "atlas-a3": "fail",
        "atlas-800i-a2": "pass",
        "atlas-a2-training": "not-applicable",
    }
    assert data["matrix"]["CacheManager.swap_blocks"]["atlas-a3"] == "no-test"
    assert data["products"][1]["crashed"].startswith("target process died")
    assert data["products"][0]["reports"]["html"] == "atlas-a3/report.html"
    assert json.loads(render_index_json(runs, spec)) == data


def test_index_json_has_nothing_volatile(runs: list[RunResult], spec: Spec) -> None:
    text = render_index_json(runs, spec)
    for volatile in ("2025-11-27", "ci-runner-7", "duration", "started"):
        assert volatile not in text


def test_index_html_links_each_cell_to_the_product_report(
    runs: list[RunResult], spec: Spec
) -> None:
    page = render_index_html(runs, spec)
    checker = check(page)
    assert not re.search(r"https?://", page)
    assert f"atlas-a3/report.html#{anchor('api', 'CacheManager.copy_cache')}" in checker.hrefs
    assert "1 of 3 product lines certified" in page
    assert "crashed: target process died with SIGSEGV" in page


def test_index_cells_count_each_outcome(
    make_run: Callable[..., RunResult], make_test: Callable[..., TestResult], spec: Spec
) -> None:
    """An API with 2 passing tests and 1 untestable one is shown as such, not as "untestable"."""
    tests = [
        make_test("a", "pass", ["allocate_cache.returns.cache"], ["CacheManager.allocate_cache"]),
        make_test("b", "pass", ["allocate_cache.pool.required"], ["CacheManager.allocate_cache"]),
        make_test("c", "untestable", ["allocate_cache.raises.timeout"],
                  ["CacheManager.allocate_cache"]),
    ]  # fmt: skip
    page = render_index_html([make_run("atlas-a3", tests)], spec)
    row = next(r for r in page.splitlines() if "<code>CacheManager.allocate_cache</code>" in r)
    assert f"{SYMBOLS['pass']} 2</span>" in row, row
    assert f"{SYMBOLS['untestable']} 1</span>" in row, row
    assert 'class="cell o-untestable"' in row, row  # the colour is still the most serious outcome


def test_renders_without_a_spec(a3_run: RunResult) -> None:
    page = render_html_report(a3_run, None)
    check(page)
    assert anchor("clause", "allocate_cache.keys.placeholder") in page
    assert "CacheManager.allocate_cache" in page
