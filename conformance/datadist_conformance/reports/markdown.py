"""summary.md: the run of one product line as Markdown, for PR comments and CI step summaries.

It leads with the verdict, then says what to fix: each failing clause with its
text in both languages and the replay snippets of the tests that caught it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..results import OUTCOMES, RunResult, TestResult
from ..speclib import Spec
from .catalogue import Catalogue, clause_outcomes
from .facts import (
    certification_line,
    implementation_label,
    plural,
    printable,
    product_label,
    verdict_mark,
    wall_seconds,
)
from .outcomes import LABELS, SYMBOLS

__all__ = ["code_block", "inline_code", "md_text", "render_summary_markdown"]

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def md_text(text: str) -> str:
    """Plain text that Markdown shows as written, on one line (fit for a table cell)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", printable(text).strip())
    return "<br>".join(line for line in escaped.splitlines()) if "\n" in escaped else escaped


def inline_code(text: str) -> str:
    """``text`` as inline code, with a fence longer than any backtick run inside it."""
    text = printable(text)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code_block(text: str, language: str = "") -> str:
    """A fenced block that ``text`` cannot close early."""
    text = printable(text)
    longest = max((len(run) for run in re.findall("`{3,}", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _capabilities(impl: Mapping[str, str]) -> str:
    if "capabilities" not in impl:
        return ""
    return f" with capabilities {md_text(impl['capabilities'] or 'none')}"


def _run_times(run: RunResult) -> str:
    if not run.started:
        return "| run | times not recorded (a baseline keeps only what a rerun reproduces) |"
    return (
        f"| run | {md_text(run.started)} → {md_text(run.finished or '?')} "
        f"({wall_seconds(run):.1f} s) |"
    )


def _heading(run: RunResult) -> list[str]:
    verdict = certification_line(run)
    mark = {"✓": "✅", "✗": "❌"}.get(verdict_mark(run), verdict_mark(run))
    impl = run.implementation
    return [
        f"# {md_text(implementation_label(run))} on {md_text(product_label(run))}",
        "",
        f"**{mark} {md_text(verdict)}**",
        "",
        "| | |",
        "|---|---|",
        f"| implementation | {inline_code(impl.get('module', ''))}, "
        f"adapter {inline_code(impl.get('adapter', '') or 'default')}"
        f"{_capabilities(impl)} |",
        f"| product line | {md_text(product_label(run))} |",
        f"| suite | {md_text(run.suite_version)}, spec {inline_code(run.spec_hash[:12])} |",
        f"| certification level | {md_text(run.level)} |",
        f"| profile, seed | {md_text(run.profile)}, {run.seed} |",
        _run_times(run),
    ]


def _counts(run: RunResult) -> list[str]:
    counts = run.counts
    lines = ["", "## Outcomes", "", "| outcome | tests |", "|---|---:|"]
    lines += [f"| {SYMBOLS[o]} {LABELS[o]} | {counts[o]} |" for o in OUTCOMES]
    lines.append(f"| **total** | **{len(run.tests)}** |")
    return lines


def _test_details(test: TestResult) -> list[str]:
    head = f"- {inline_code(test.id)} ({LABELS[test.outcome]})"
    if test.message and "\n" not in test.message:
        head += f": {md_text(test.message)}"
    lines = [head]
    if "\n" in test.message:
        lines += ["", _indent(code_block(test.message, "text"))]
    for label, value in (
        ("call", test.call),
        ("expected", test.expected),
        ("observed", test.observed),
    ):
        if value:
            lines.append(f"  - {label}: {inline_code(value)}")
    if test.replay:
        lines += ["", _indent(code_block(test.replay, "python"))]
    return lines


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" if line else line for line in text.splitlines())


def _clause_quote(catalogue: Catalogue, clause_id: str) -> list[str]:
    info = catalogue.clause(clause_id)
    if not info.known:
        return ["> (clause not in the spec this report was rendered with)"]
    lines = []
    if info.zh:
        lines.append(f"> {md_text(info.zh)}")
        lines.append(">")
    lines.append(f"> {md_text(info.en)}")
    if info.errata:
        lines += ["", f"Errata: {', '.join(inline_code(e) for e in info.errata)}"]
    return lines


def _failing(run: RunResult, catalogue: Catalogue) -> list[str]:
    failing = run.failing_clauses
    if not failing and not run.crashed:
        return []
    lines = ["", f"## Failing clauses ({len(failing)})"]
    if run.crashed:
        lines += [
            "",
            f"**The run crashed:** {md_text(run.crashed)}. Tests after the crash did not run.",
        ]
    rolled = clause_outcomes(run)
    shown: set[str] = set()
    for clause_id in failing:
        info = catalogue.clause(clause_id)
        api = f" of {inline_code(info.api_id)}" if info.api_id else ""
        lines += ["", f"### {inline_code(clause_id)}{api}: {LABELS[rolled[clause_id]]}", ""]
        lines += _clause_quote(catalogue, clause_id)
        lines.append("")
        for test in run.tests:
            if clause_id not in test.failing_clauses:
                continue
            if test.id in shown:
                lines.append(f"- {inline_code(test.id)} ({LABELS[test.outcome]}): details above")
            else:
                shown.add(test.id)
                lines += _test_details(test)
    return lines


def _untestable(run: RunResult, catalogue: Catalogue) -> list[str]:
    reasons: dict[str, list[str]] = {}
    for test in run.tests:
        if test.outcome == "untestable":
            for clause in test.clauses:
                reason = test.message or catalogue.clause(clause).untestable or "no reason given"
                if test.untestable_everywhere:
                    reason = f"(everywhere) {reason}"
                if reason not in reasons.setdefault(clause, []):
                    reasons[clause].append(reason)
    if not reasons:
        return []
    lines = ["", f"## Untestable clauses ({len(reasons)})", ""]
    lines += [
        "Never counted as passes: the target or its adapter lacks what these need, or "
        "(everywhere) the document gives no way to check them against any target, which does "
        "not make the line partial.",
        "",
    ]
    lines += ["| clause | reason |", "|---|---|"]
    for clause in sorted(reasons):
        lines.append(f"| {inline_code(clause)} | {md_text('; '.join(reasons[clause]))} |")
    return lines


def _expected_failures(run: RunResult) -> list[str]:
    tests = [t for t in run.tests if t.outcome == "expected-fail"]
    if not tests:
        return []
    lines = ["", f"## Expected failures ({len(tests)})", "", "| test | clauses | reason |"]
    lines.append("|---|---|---|")
    for test in tests:
        clauses = ", ".join(inline_code(c) for c in test.clauses)
        lines.append(f"| {inline_code(test.id)} | {clauses} | {md_text(test.message or '?')} |")
    return lines


def _stale(run: RunResult) -> list[str]:
    stale = [t for t in run.tests if t.stale_expectation]
    if not stale and not run.unused_expectations:
        return []
    lines = ["", "## Stale expectations", ""]
    lines += ["Entries of the expectation file that no longer describe the run; remove them.", ""]
    for test in stale:
        lines.append(
            f"- {inline_code(test.id)} is listed as failing ({md_text(test.stale_expectation)}) "
            f"but its outcome is {LABELS[test.outcome]}"
        )
    for entry in run.unused_expectations:
        lines.append(f"- {inline_code(entry)} matches no test")
    return lines


def _not_applicable(run: RunResult) -> list[str]:
    """Not-applicable tests grouped by why: an API the line does not support, a clause above the
    run's certification level, the unsupported-line check on a supported line..."""
    tests = [t for t in run.tests if t.outcome == "not-applicable"]
    if not tests:
        return []
    groups: dict[str, list[TestResult]] = {}
    for test in tests:
        groups.setdefault(_reason(test), []).append(test)
    lines = ["", "## Not applicable", "", "Never counted as passes; by reason:", ""]
    for reason, members in groups.items():
        apis = sorted({api for t in members for api in t.apis})
        names = ", ".join(inline_code(api) for api in apis)
        lines.append(
            f"- {md_text(reason)}: {plural(len(members), 'test')} of "
            f"{plural(len(apis), 'API')} ({names})"
        )
    return lines


def _reason(test: TestResult) -> str:
    """A not-applicable test's message without the clause or API it may start with, so that
    tests set aside for the same reason are listed together (their APIs follow the reason)."""
    message = test.message.strip() or "no reason recorded"
    first, _, rest = message.partition(" ")
    if rest and first in test.clauses:
        return f"the clause {rest}"
    if rest and first in test.apis:
        return f"the API {rest}"
    return message


def _families(run: RunResult) -> list[str]:
    lines = ["", "## Test families", "", "| family | tests | examples | seconds |"]
    lines.append("|---|---:|---:|---:|")
    for family, row in run.families().items():
        lines.append(
            f"| {md_text(family)} | {int(row['tests'])} | {int(row['examples'])} "
            f"| {row['seconds']:.2f} |"
        )
    return lines


def render_summary_markdown(run: RunResult, spec: Spec | None) -> str:
    """The Markdown summary of one product line's run."""
    catalogue = Catalogue(spec)
    lines = _heading(run)
    if spec is not None and spec.content_hash != run.spec_hash:
        lines += [
            "",
            f"> Note: rendered with spec {inline_code(spec.content_hash[:12])}, "
            f"not the spec {inline_code(run.spec_hash[:12])} the run used; clause texts may differ.",
        ]
    lines += _counts(run)
    lines += _failing(run, catalogue)
    lines += _untestable(run, catalogue)
    lines += _expected_failures(run)
    lines += _stale(run)
    lines += _not_applicable(run)
    lines += _families(run)
    return "\n".join(lines) + "\n"
