"""index.json and index.html: every API against every product line of an output directory.

A cell is the rolled-up outcome of the API's tests on that line and links to
the line's report. index.json holds no timestamps or durations, so two runs
with the same outcomes give the same file.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..results import OUTCOMES, RunResult
from ..speclib import Spec
from ..verdicts import PARTIAL, verdict_text
from .catalogue import Catalogue, api_outcomes, judged_apis
from .facts import certification_line, implementation_label, plural, verdict_css, verdict_mark
from .html_page import anchor, chip, esc, page, rows_html
from .outcomes import LABELS, NO_TEST

__all__ = ["INDEX_FORMAT_VERSION", "index_data", "render_index_html", "render_index_json"]

INDEX_FORMAT_VERSION = 1

#: The files write_reports puts beside each product line's results.json.
PRODUCT_FILES = {
    "results": "results.json",
    "junit": "junit.xml",
    "summary": "summary.md",
    "html": "report.html",
}


def _ordered(runs: Sequence[RunResult], spec: Spec | None) -> list[RunResult]:
    order = {product.id: i for i, product in enumerate(spec.products if spec else ())}
    return sorted(
        runs, key=lambda run: (order.get(run.product["id"], len(order)), run.product["id"])
    )


def index_data(
    runs: Sequence[RunResult],
    spec: Spec | None,
    product_files: Mapping[str, str] = PRODUCT_FILES,
) -> dict[str, Any]:
    """The API x product line matrix and each line's verdict, as JSON-ready data.

    ``product_files`` names the files beside each line's results (kind -> file name).
    """
    catalogue = Catalogue(spec)
    ordered = _ordered(runs, spec)
    apis = catalogue.api_ids(ordered)
    per_run = {run.product["id"]: api_outcomes(run, catalogue) for run in ordered}
    products = []
    for run in ordered:
        product_id = run.product["id"]
        products.append(
            {
                "id": product_id,
                "name": run.product.get("name", ""),
                "name_en": run.product.get("name_en"),
                "verdict": run.verdict,
                "certified": run.certified,
                "unchecked_clauses": run.unchecked_clauses,
                "crashed": run.crashed,
                "summary": run.counts,
                "failing_clauses": run.failing_clauses,
                "implementation": dict(run.implementation),
                "suite_version": run.suite_version,
                "spec_hash": run.spec_hash,
                "level": run.level,
                "profile": run.profile,
                "seed": run.seed,
                "reports": {kind: f"{product_id}/{name}" for kind, name in product_files.items()},
            }
        )
    matrix = {
        api: {pid: outcomes.get(api, NO_TEST) for pid, outcomes in per_run.items()} for api in apis
    }
    return {
        "format_version": INDEX_FORMAT_VERSION,
        "spec_hash": catalogue.spec_hash,
        "levels": sorted({run.level for run in ordered}),
        "certified": [p["id"] for p in products if p["certified"]],
        "partial": [p["id"] for p in products if p["verdict"] == PARTIAL],
        "products": products,
        "apis": apis,
        "matrix": matrix,
    }


def render_index_json(
    runs: Sequence[RunResult],
    spec: Spec | None,
    product_files: Mapping[str, str] = PRODUCT_FILES,
) -> str:
    return json.dumps(index_data(runs, spec, product_files), ensure_ascii=False, indent=2) + "\n"


def _api_counts(run: RunResult, catalogue: Catalogue) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    for test in run.tests:
        for api in judged_apis(test, catalogue):
            counts.setdefault(api, Counter())[test.outcome] += 1
    return counts


def _count_chips(counts: Mapping[str, int]) -> str:
    """The tests of one API on one line by outcome ("✓ 17 ? 1"), in the legend's order: the cell's
    colour is the most serious outcome, and the counts say how much of the API that is."""
    return " ".join(chip(o, str(counts[o])) for o in OUTCOMES if counts.get(o))


def _tooltip(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{LABELS[o]}: {counts[o]}" for o in OUTCOMES if counts.get(o))


def _header(run: RunResult, product_page: str) -> str:
    pid = run.product["id"]
    verdict = verdict_css(run)
    mark = f"{verdict_mark(run)} {verdict_text(run)}"
    counts = run.counts
    tally = " · ".join(f"{counts[o]} {LABELS[o]}" for o in OUTCOMES if counts[o])
    crash = f'<div class="muted">crashed: {esc(run.crashed)}</div>' if run.crashed else ""
    return (
        f'<th class="cell"><a href="{esc(pid)}/{esc(product_page)}">'
        f"{esc(run.product.get('name') or pid)}</a>"
        f'<div class="muted mono">{esc(pid)}</div>'
        f'<div><span class="verdict small {verdict}" title="{esc(certification_line(run))}">'
        f"{mark}</span></div>{crash}"
        f'<div class="muted tally">{esc(tally)}</div></th>'
    )


def render_index_html(
    runs: Sequence[RunResult], spec: Spec | None, product_page: str = PRODUCT_FILES["html"]
) -> str:
    """The self-contained overview page of an output directory; cells link to ``product_page``."""
    data = index_data(runs, spec)
    ordered = _ordered(runs, spec)
    catalogue = Catalogue(spec)
    counts = {run.product["id"]: _api_counts(run, catalogue) for run in ordered}

    def fragment(api: str) -> str:
        return f"#{anchor('api', api)}" if product_page.endswith(".html") else ""

    rows = []
    for api in data["apis"]:
        cells = []
        for run in ordered:
            pid = run.product["id"]
            outcome = data["matrix"][api][pid]
            api_counts = counts[pid].get(api, Counter())
            tip = _tooltip(api_counts) or LABELS[outcome]
            cells.append(
                f'<td class="cell o-{outcome}" title="{esc(tip)}">'
                f'<a href="{esc(pid)}/{esc(product_page)}{fragment(api)}">'
                f"{_count_chips(api_counts) or chip(outcome)}</a></td>"
            )
        rows.append(f'<tr><td class="api"><code>{esc(api)}</code></td>{"".join(cells)}</tr>')

    impls = sorted({implementation_label(run) for run in ordered})
    suites = sorted({run.suite_version for run in ordered})
    hashes = sorted({run.spec_hash[:12] for run in ordered})
    certified = len(data["certified"])
    partial = f", {len(data['partial'])} partial" if data["partial"] else ""
    legend = "".join(chip(o) for o in (*OUTCOMES, NO_TEST))
    body = (
        f"<h1>Conformance of {esc(', '.join(impls) or 'nothing')}</h1>"
        f'<span class="verdict {"yes" if certified == len(ordered) and ordered else "no"}">'
        f"{certified} of {plural(len(ordered), 'product line')} certified{partial}</span>"
        '<dl class="meta">'
        f"<div><dt>level</dt><dd>{esc(', '.join(data['levels']))}</dd></div>"
        f"<div><dt>suite</dt><dd>{esc(', '.join(suites))}</dd></div>"
        f"<div><dt>spec</dt><dd><code>{esc(', '.join(hashes))}</code></dd></div>"
        f'<div><dt>data</dt><dd><a href="index.json">index.json</a></dd></div>'
        "</dl>"
        f'<div class="legend">{legend}</div>'
        '<table class="grid matrix"><thead><tr><th>API</th>'
        f"{''.join(_header(run, product_page) for run in ordered)}</tr></thead>"
        f"<tbody>{rows_html(rows)}</tbody></table>"
    )
    return page("datadist-conformance: product lines", body, script=False)
