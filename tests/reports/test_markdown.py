"""summary.md leads with the verdict and shows what to fix, with the clause text and replay."""

from __future__ import annotations

import re
from collections.abc import Callable

from datadist_conformance.reports import render_summary_markdown
from datadist_conformance.reports.markdown import code_block, inline_code
from datadist_conformance.results import RunResult, TestResult
from datadist_conformance.speclib import Spec


def test_verdict_and_counts(a3_run: RunResult, na_run: RunResult, spec: Spec) -> None:
    text = render_summary_markdown(a3_run, spec)
    assert "**❌ NOT CERTIFIED: 1 failing test, 1 erroring test**" in text
    for label in ("pass | 2", "fail | 1", "error | 1", "expected fail | 1", "untestable | 1"):
        assert label in text
    assert "**✅ CERTIFIED**" in render_summary_markdown(na_run, spec)


def test_failing_clause_has_both_texts_and_the_replay(a3_run: RunResult, spec: Spec) -> None:
    text = render_summary_markdown(a3_run, spec)
    section = text.split("## Failing clauses (3)")[1].split("\n## ")[0]
    clause = spec.clause("allocate_cache.keys.placeholder")
    assert clause.text.zh is not None
    assert clause.text.zh.strip()[:20] in section
    assert "### `allocate_cache.keys.placeholder` of `CacheManager.allocate_cache`: fail" in section
    # the replay holds ``` so its fence is longer and the block is not cut short
    assert "  ````python\n  from datadist_conformance import replay" in section
    assert "# ```not a fence```\n  ````" in section
    assert "`copy_cache.size.range`" in section


def test_other_sections(a3_run: RunResult, spec: Spec) -> None:
    text = render_summary_markdown(a3_run, spec)
    assert "## Untestable clauses (1)" in text
    assert "| `allocate_cache.raises.timeout` | the adapter cannot delay operations" in text
    assert "## Expected failures (1)" in text
    assert "alignment rounds down (ISSUE-12)" in text
    assert "`clauses::swap_blocks.gone` matches no test" in text
    assert "`CacheManager.pull_blocks`" in text.split("## Not applicable")[1]
    assert "| config | 1 | 100 | 1.50 |" in text


def test_user_text_cannot_inject_markup(a3_run: RunResult, spec: Spec) -> None:
    text = render_summary_markdown(a3_run, spec)
    outside_code = re.sub(r"( *)(`{3,})[^\n]*\n.*?\n\1\2", "", text, flags=re.DOTALL)
    assert not re.search(r"(?<!\\)<(script|img)", outside_code)
    assert r"\<script\>alert" in outside_code
    assert r"\| \`tick\` \*\*bold\*\*" in outside_code


def test_control_characters_are_shown_not_sent(a3_run: RunResult, spec: Spec) -> None:
    text = render_summary_markdown(a3_run, spec)
    assert "\x1b" not in text
    assert "\x00" not in text
    assert "RuntimeError: \\x1b[31mboom" in text


def test_crash_is_reported(crashed_run: RunResult, spec: Spec) -> None:
    text = render_summary_markdown(crashed_run, spec)
    assert "NOT CERTIFIED: the run crashed (target process died with SIGSEGV (exit -11))" in text
    assert "**The run crashed:**" in text


def test_spec_mismatch_is_noted(a3_run: RunResult, spec: Spec) -> None:
    a3_run.spec_hash = "0" * 64
    assert "not the spec `000000000000` the run used" in render_summary_markdown(a3_run, spec)


def test_code_helpers_survive_backticks() -> None:
    assert inline_code("a`b") == "``a`b``"
    assert inline_code("`x`") == "`` `x` ``"
    assert code_block("x\n```\ny").startswith("````\n")


def test_not_applicable_tests_are_grouped_by_reason(
    make_run: Callable[..., RunResult], make_test: Callable[..., TestResult], spec: Spec
) -> None:
    """On a supported line the unsupported-line check is not applicable because the line IS
    supported, and a clause above the run's level for another reason: neither may be described
    as an API the line does not support."""
    tests = [
        make_test("products::unsupported", "not-applicable", ["products.unsupported"],
                  ["CacheManager"], family="products",
                  message="atlas-a3 supports the legacy-cache-manager feature set"),
        make_test("surface::a", "not-applicable", ["CacheKey.signature"], ["CacheKey"],
                  family="surface", message="CacheKey.signature is at level as-shipped"),
        make_test("surface::b", "not-applicable", ["Cache.signature"], ["Cache"],
                  family="surface", message="Cache.signature is at level as-shipped"),
    ]  # fmt: skip
    text = render_summary_markdown(make_run("atlas-a3", tests), spec)
    section = text.split("## Not applicable")[1].split("\n## ")[0]
    assert "does not support" not in section, section
    assert "- the clause is at level as-shipped: 2 tests of 2 APIs (`Cache`, `CacheKey`)" in section
    assert "- atlas-a3 supports the legacy-cache-manager feature set: 1 test of 1 API" in section


def test_untestable_everywhere_is_marked(
    make_run: Callable[..., RunResult], make_test: Callable[..., TestResult], spec: Spec
) -> None:
    """A clause no target can be checked against says so: it is no gap of this target's."""
    tests = [
        make_test("clauses::a", "pass", ["allocate_cache.keys.placeholder"], ["c"]),
        make_test(
            "clauses::b",
            "untestable",
            ["allocate_cache.refs.key_released_by_push"],
            ["c"],
            message="the document gives no way to see it",
            untestable_everywhere=True,
        ),
        make_test(
            "clauses::c",
            "untestable",
            ["allocate_cache.raises.timeout"],
            ["c"],
            message="the adapter cannot delay operations",
        ),
    ]
    text = render_summary_markdown(make_run("atlas-a3", tests), spec)
    assert (
        "| `allocate_cache.refs.key_released_by_push` | (everywhere) the document gives no way"
        in text
    )
    assert "| `allocate_cache.raises.timeout` | the adapter cannot delay operations" in text
