"""report.html: one product line's run as a page to look at.

Top to bottom: the verdict, the run's metadata, every failure with its replay
snippet, the outcome bar with filters, the APIs x clauses matrix, all tests,
and the clauses with their text in both languages.
"""

from __future__ import annotations

from ..results import OUTCOMES, RunResult, TestResult
from ..speclib import Spec
from .catalogue import Catalogue, api_outcomes, clause_outcomes
from .facts import (
    certification_line,
    implementation_label,
    product_label,
    verdict_css,
    verdict_mark,
    wall_seconds,
)
from .html_page import anchor, chip, esc, page, rows_html
from .outcomes import LABELS, NO_TEST, rollup

__all__ = ["render_html_report"]


def _verdict(run: RunResult) -> str:
    html = (
        f'<span class="verdict {verdict_css(run)}">'
        f"{verdict_mark(run)} {esc(certification_line(run))}</span>"
    )
    if run.unchecked_clauses:
        html += (
            '<div class="banner"><strong>Not checked against this target:</strong> '
            f"{esc(', '.join(run.unchecked_clauses))}.</div>"
        )
    if run.crashed:
        html += (
            f'<div class="banner"><strong>The run crashed:</strong> {esc(run.crashed)}. '
            "Tests after the crash did not run.</div>"
        )
    return html


def _meta_item(term: str, value: str) -> str:
    return f"<div><dt>{esc(term)}</dt><dd>{value}</dd></div>"


def _metadata(run: RunResult) -> str:
    impl = run.implementation
    product = run.product
    features = " ".join(
        chip("pass" if supported else "not-applicable", name)
        for name, supported in sorted(product.get("feature_sets", {}).items())
    )
    items = [
        _meta_item("implementation", esc(implementation_label(run))),
        _meta_item("module", f"<code>{esc(impl.get('module', ''))}</code>"),
        _meta_item("adapter", f"<code>{esc(impl.get('adapter', '') or 'default')}</code>"),
        _meta_item("product", esc(product.get("name") or product["id"])),
        _meta_item("product (en)", esc(product.get("name_en") or "")),
        _meta_item("product id", f"<code>{esc(product['id'])}</code>"),
        _meta_item("suite", esc(run.suite_version)),
        _meta_item("spec", f'<code title="{esc(run.spec_hash)}">{esc(run.spec_hash[:12])}</code>'),
        _meta_item("level", esc(run.level)),
        _meta_item("profile", esc(run.profile)),
        _meta_item("seed", f"<code>{run.seed}</code>"),
        _meta_item("started", esc(run.started or "?")),
        _meta_item("finished", esc(run.finished or "?")),
        _meta_item("wall time", f"{wall_seconds(run):.1f} s"),
        _meta_item("features", features or '<span class="muted">none recorded</span>'),
    ]
    if impl.get("capabilities") is not None:
        capabilities = impl["capabilities"] or "none"
        items.insert(3, _meta_item("capabilities", esc(capabilities)))
    html = f'<dl class="meta">{"".join(items)}</dl>'
    if run.environment:
        rows = "".join(
            f"<dt>{esc(key)}</dt><dd><code>{esc(value)}</code></dd>"
            for key, value in sorted(run.environment.items())
        )
        html += f'<details><summary>environment</summary><dl class="kv">{rows}</dl></details>'
    return html


def _outcome_bar(run: RunResult) -> str:
    counts = run.counts
    total = max(1, len(run.tests))
    spans = "".join(
        f'<span class="o-{o}" style="width:{100 * counts[o] / total:.3f}%" '
        f'title="{esc(LABELS[o])}: {counts[o]}"></span>'
        for o in OUTCOMES
        if counts[o]
    )
    boxes = "".join(
        f'<label><input type="checkbox" data-filter="{o}" checked>'
        f"{chip(o, f'{LABELS[o]} {counts[o]}')}</label>"
        for o in OUTCOMES
    )
    search = '<input type="search" id="search" placeholder="filter tests by text">'
    return (
        f'<div class="bar">{spans}</div>'
        f'<div class="filters"><strong>show</strong> {boxes} {search}</div>'
    )


def _short_clause(clause_id: str, api_id: str) -> str:
    """``keys.placeholder`` for ``allocate_cache.keys.placeholder`` under its own API."""
    method = api_id.rsplit(".", 1)[-1]
    prefix = f"{method}."
    return clause_id[len(prefix) :] if clause_id.startswith(prefix) else clause_id


def _matrix(run: RunResult, catalogue: Catalogue) -> str:
    by_clause = clause_outcomes(run)
    by_api = api_outcomes(run, catalogue)
    rows = []
    for api_id in catalogue.api_ids([run]):
        clause_ids = catalogue.clause_ids(api_id, run.tests)
        tiles = []
        for clause_id in clause_ids:
            outcome = by_clause.get(clause_id, NO_TEST)
            info = catalogue.clause(clause_id)
            tip = f"{clause_id}: {LABELS[outcome]}\n{info.zh or ''}\n{info.en}".strip()
            tiles.append(
                f'<a class="tile o-{outcome}" data-outcome="{outcome}" '
                f'href="#{anchor("clause", clause_id)}" title="{esc(tip)}">'
                f"{esc(_short_clause(clause_id, api_id))}</a>"
            )
        outcome = by_api.get(api_id, rollup(by_clause.get(c, NO_TEST) for c in clause_ids))
        rows.append(
            f'<tr id="{anchor("api", api_id)}"><td class="api"><code>{esc(api_id)}</code></td>'
            f'<td>{chip(outcome)}</td><td><div class="tiles">{"".join(tiles)}</div></td></tr>'
        )
    legend = "".join(chip(o) for o in (*OUTCOMES, NO_TEST))
    return (
        f'<div class="legend">{legend}</div>'
        '<table class="matrix"><thead><tr><th>API</th><th>roll-up</th><th>clauses</th></tr>'
        f"</thead><tbody>{rows_html(rows)}</tbody></table>"
    )


def _code(text: str) -> str:
    return f'<pre><button class="copy" type="button">copy</button><code>{esc(text)}</code></pre>'


def _test_body(test: TestResult, catalogue: Catalogue) -> str:
    parts = []
    message = _message_without_clause_text(test, catalogue)
    if message:
        parts.append(f"<pre>{esc(message)}</pre>")
    pairs = [
        ("call", test.call),
        ("expected", test.expected),
        ("observed", test.observed),
        ("stale expectation", test.stale_expectation),
    ]
    rows = "".join(
        f"<dt>{esc(label)}</dt><dd><code>{esc(value)}</code></dd>"
        for label, value in pairs
        if value
    )
    if test.examples is not None:
        rows += f"<dt>examples</dt><dd>{test.examples}</dd>"
    rows += f"<dt>duration</dt><dd>{test.duration:.3f} s</dd>"
    parts.append(f'<dl class="kv">{rows}</dl>')
    if test.replay:
        parts.append(f"<div><strong>replay</strong>{_code(test.replay)}</div>")
    for clause_id in test.clauses:
        info = catalogue.clause(clause_id)
        text = _clause_text(info.zh, info.en) if info.known else ""
        parts.append(
            f'<div><a href="#{anchor("clause", clause_id)}"><code>{esc(clause_id)}</code></a>'
            f"{text}</div>"
        )
    return "".join(parts)


def _message_without_clause_text(test: TestResult, catalogue: Catalogue) -> str:
    """The test's message less the "[clause] text" lines the body shows below anyway, so a
    clause's text appears once."""
    shown = {
        f"[{clause_id}] {catalogue.clause(clause_id).en}"
        for clause_id in test.clauses
        if catalogue.clause(clause_id).known
    }
    lines = [line for line in (test.message or "").splitlines() if line.strip() not in shown]
    return "\n".join(lines).strip()


def _clause_text(zh: str | None, en: str) -> str:
    zh_html = f'<span class="zh" lang="zh">{esc(zh)}</span>' if zh else ""
    return f'{zh_html}<span class="en">{esc(en)}</span>'


def _failures(run: RunResult, catalogue: Catalogue) -> str:
    failing = [t for t in run.tests if t.outcome in ("fail", "error")]
    if not failing:
        return ""
    blocks = [
        f'<details class="test" open id="{anchor("failure", test.id)}" '
        f'data-outcome="{test.outcome}"><summary>{chip(test.outcome)} '
        f"<code>{esc(test.id)}</code> "
        f'<span class="muted">{esc(_failed_on(test))}</span>'
        f"</summary>{_test_body(test, catalogue)}</details>"
        for test in failing
    ]
    return f"<h2>Failures ({len(failing)})</h2>{''.join(blocks)}"


def _failed_on(test: TestResult) -> str:
    """ "on <clause>" for a failure that names its clause; the error's first line otherwise."""
    if test.failed_clause:
        return f"on {test.failed_clause}"
    return test.message.splitlines()[0] if test.message else ""


def _tests_table(run: RunResult, catalogue: Catalogue) -> str:
    rows = []
    for test in run.tests:
        summary = esc(test.message.splitlines()[0]) if test.message else ""
        clauses = " ".join(
            f'<a href="#{anchor("clause", c)}"><code>{esc(c)}</code></a>' for c in test.clauses
        )
        detail = (
            f'<details id="{anchor("test", test.id)}"><summary><code>{esc(test.id)}</code>'
            f"</summary>{_test_body(test, catalogue)}</details>"
        )
        rows.append(
            f'<tr data-outcome="{test.outcome}"><td>{chip(test.outcome)}</td><td>{detail}'
            f'<div class="muted">{summary}</div></td><td>{esc(test.family)}</td>'
            f'<td>{clauses}</td><td class="num">{test.duration:.3f}</td></tr>'
        )
    return (
        f"<h2>Tests ({len(run.tests)})</h2>"
        "<table><thead><tr><th>outcome</th><th>test</th><th>family</th><th>clauses</th>"
        f'<th class="num">s</th></tr></thead><tbody>{rows_html(rows)}</tbody></table>'
    )


def _clauses(run: RunResult, catalogue: Catalogue) -> str:
    by_clause = clause_outcomes(run)
    tests_of: dict[str, list[TestResult]] = {}
    for test in run.tests:
        for clause in test.clauses:
            tests_of.setdefault(clause, []).append(test)
    rows = []
    for api_id in catalogue.api_ids([run]):
        for clause_id in catalogue.clause_ids(api_id, run.tests):
            info = catalogue.clause(clause_id)
            outcome = by_clause.get(clause_id, NO_TEST)
            tests = " ".join(
                f'<a href="#{anchor("test", t.id)}" title="{esc(LABELS[t.outcome])}">'
                f"<code>{esc(t.id)}</code></a>"
                for t in tests_of.get(clause_id, [])
            )
            notes = ""
            if info.untestable:
                notes += f'<div class="muted">untestable: {esc(info.untestable)}</div>'
            if info.errata:
                notes += f'<div class="muted">errata: {esc(", ".join(info.errata))}</div>'
            text = _clause_text(info.zh, info.en) if info.known else "(not in this spec)"
            rows.append(
                f'<tr id="{anchor("clause", clause_id)}" data-outcome="{outcome}">'
                f"<td>{chip(outcome)}</td><td><code>{esc(clause_id)}</code>"
                f'<div class="muted">{esc(api_id)}</div></td><td class="text">{text}{notes}</td>'
                f"<td>{tests}</td></tr>"
            )
    return (
        "<h2>Clauses</h2>"
        "<table><thead><tr><th>outcome</th><th>clause</th><th>text</th><th>tests</th></tr>"
        f"</thead><tbody>{rows_html(rows)}</tbody></table>"
    )


def _expectations(run: RunResult) -> str:
    stale = [t for t in run.tests if t.stale_expectation]
    if not stale and not run.unused_expectations:
        return ""
    items = [
        f'<li><a href="#{anchor("test", t.id)}"><code>{esc(t.id)}</code></a> is listed as failing '
        f"({esc(t.stale_expectation)}) but is {chip(t.outcome)}</li>"
        for t in stale
    ]
    items += [
        f"<li><code>{esc(entry)}</code> matches no test</li>" for entry in run.unused_expectations
    ]
    return (
        "<h2>Stale expectations</h2><p>Entries of the expectation file that no longer describe "
        f"the run; remove them.</p><ul>{''.join(items)}</ul>"
    )


def render_html_report(run: RunResult, spec: Spec | None) -> str:
    """The self-contained HTML report of one product line's run."""
    catalogue = Catalogue(spec)
    title = f"{implementation_label(run)} on {product_label(run)}"
    note = ""
    if spec is not None and spec.content_hash != run.spec_hash:
        note = (
            f'<div class="note">Rendered with spec <code>{esc(spec.content_hash[:12])}</code>, '
            f"not the spec <code>{esc(run.spec_hash[:12])}</code> the run used; "
            "clause texts may differ.</div>"
        )
    body = (
        '<p class="muted"><a href="../index.html">all product lines</a></p>'
        f"<h1>{esc(title)}</h1>{_verdict(run)}{note}{_metadata(run)}"
        f"{_failures(run, catalogue)}{_outcome_bar(run)}"
        f"<h2>APIs × clauses</h2>{_matrix(run, catalogue)}"
        f"{_expectations(run)}{_tests_table(run, catalogue)}"
        f"{_clauses(run, catalogue)}"
    )
    return page(f"{title}: conformance", body)
