"""A result-set diff as plain text (terminal, CI log), Markdown (PR comment) or JSON (tools)."""

from __future__ import annotations

import json
from typing import Any

from .diff import Change, ProductDiff, ResultSetDiff
from .facts import plural
from .markdown import inline_code, md_text

__all__ = ["diff_data", "render_diff_json", "render_diff_markdown", "render_diff_text"]

#: (heading, ProductDiff attribute), in the order a reader needs them.
_SECTIONS = (
    ("REGRESSION", "regressions"),
    ("FLAKY", "flaky"),
    ("FIXED", "fixes"),
    ("CHANGED", "changed"),
    ("NEW", "new_tests"),
    ("REMOVED", "removed_tests"),
)


def _outcomes(change: Change) -> str:
    if change.old is None:
        return f"new: {change.new}"
    if change.new is None:
        return f"was: {change.old}"
    reruns = f"reruns: {', '.join(change.reruns)}" if change.reruns else ""
    if change.fresh_reruns:
        seeds = ", ".join(
            f"{o} (seed {s})" for o, s in zip(change.fresh_reruns, change.fresh_seeds, strict=True)
        )
        reruns += f"; fresh seeds: {seeds}"
        if change.seed_dependent:
            reruns += "; seed-dependent"
    return f"{change.old} -> {change.new}" + (f" ({reruns})" if reruns else "")


def _tally(diff: ProductDiff) -> str:
    if diff.line_missing:
        return "REGRESSION: no results in NEW for this product line"
    if diff.old is None:
        return "new product line (no results in OLD)"
    if diff.unchanged:
        return "no changes"
    parts = [
        plural(len(diff.regressions), "regression"),
        plural(len(diff.flaky), "flaky test"),
        plural(len(diff.fixes), "fix"),
        plural(len(diff.changed), "other change"),
        plural(len(diff.new_tests), "new test"),
        plural(len(diff.removed_tests), "removed test"),
    ]
    text = ", ".join(part for part in parts if not part.startswith("0 "))
    if diff.verdict_worsened and diff.old is not None and diff.new is not None:
        text = f"REGRESSION: verdict {diff.old.verdict} -> {diff.new.verdict}; " + text
    if diff.newly_crashed:
        text = "REGRESSION: the run crashed; " + text
    return text.removesuffix("; ") or "metadata changed"


def _verdict(diff: ResultSetDiff) -> str:
    if not diff.regressed:
        return "no regressions"
    lines = [p.product_id for p in diff.products if p.regressed]
    return (
        f"{plural(diff.regression_count, 'regression')} on "
        f"{plural(len(lines), 'product line')}: {', '.join(lines)}"
    )


def render_diff_text(diff: ResultSetDiff, old_label: str, new_label: str) -> str:
    lines = [f"OLD: {old_label}", f"NEW: {new_label}", ""]
    if diff.shared_metadata:
        lines += [f"every line: {what}: {old} -> {new}" for what, old, new in diff.shared_metadata]
        lines += [f"note: {diff.like_with_like_note}"] if diff.like_with_like_note else []
        lines.append("")
    for product in diff.products:
        lines.append(f"{product.product_id}: {_tally(product)}")
        if product.newly_crashed and product.new is not None:
            lines.append(f"  CRASHED     {product.new.crashed}")
        for heading, attribute in _SECTIONS:
            for change in getattr(product, attribute):
                clauses = f"  [{', '.join(change.clauses)}]" if change.clauses else ""
                lines.append(f"  {heading:<11} {change.test_id}  {_outcomes(change)}{clauses}")
        if product.new_clauses:
            lines.append(f"  new clauses: {', '.join(product.new_clauses)}")
        if product.removed_clauses:
            lines.append(f"  REGRESSION  removed clauses: {', '.join(product.removed_clauses)}")
        lines += [f"  {what}: {old} -> {new}" for what, old, new in product.metadata]
        lines += [f"  note: {note}" for note in product.notes]
    lines += ["", f"Result: {_verdict(diff)}"]
    return "\n".join(lines) + "\n"


def render_diff_markdown(diff: ResultSetDiff, old_label: str, new_label: str) -> str:
    mark = "❌" if diff.regressed else "✅"
    lines = [
        "## Conformance diff",
        "",
        f"**{mark} {md_text(_verdict(diff))}**",
        "",
        f"OLD {inline_code(old_label)} → NEW {inline_code(new_label)}",
        "",
    ]
    if diff.shared_metadata:
        lines += [
            f"- every line: {md_text(what)}: {md_text(old)} → {md_text(new)}"
            for what, old, new in diff.shared_metadata
        ]
        lines += (
            [f"- note: {md_text(diff.like_with_like_note)}"] if diff.like_with_like_note else []
        )
        lines.append("")
    lines += [
        "| product line | changes |",
        "|---|---|",
    ]
    lines += [f"| {inline_code(p.product_id)} | {md_text(_tally(p))} |" for p in diff.products]
    for product in diff.products:
        rows = [
            f"| {heading.lower()} | {inline_code(change.test_id)} | {md_text(_outcomes(change))} "
            f"| {', '.join(inline_code(c) for c in change.clauses)} |"
            for heading, attribute in _SECTIONS
            for change in getattr(product, attribute)
        ]
        extra = []
        if product.newly_crashed and product.new is not None:
            extra.append(f"- the run crashed: {md_text(product.new.crashed)}")
        if product.new_clauses:
            extra.append(f"- new clauses: {', '.join(map(inline_code, product.new_clauses))}")
        if product.removed_clauses:
            extra.append(
                f"- removed clauses: {', '.join(map(inline_code, product.removed_clauses))}"
            )
        extra += [
            f"- {md_text(what)}: {md_text(old)} → {md_text(new)}"
            for what, old, new in product.metadata
        ]
        extra += [f"- note: {md_text(note)}" for note in product.notes]
        if not rows and not extra:
            continue
        lines += ["", f"### {inline_code(product.product_id)}", ""]
        if rows:
            lines += ["| change | test | outcomes | clauses |", "|---|---|---|---|", *rows]
            if extra:
                lines.append("")
        lines += extra
    return "\n".join(lines) + "\n"


def _change(change: Change) -> dict[str, Any]:
    return {
        "test": change.test_id,
        "old": change.old,
        "new": change.new,
        "clauses": list(change.clauses),
        "reruns": list(change.reruns),
        "fresh_seed_reruns": [
            {"seed": seed, "outcome": outcome}
            for outcome, seed in zip(change.fresh_reruns, change.fresh_seeds, strict=True)
        ],
    }


def diff_data(diff: ResultSetDiff) -> dict[str, Any]:
    """The diff as JSON-ready data."""
    products = []
    for p in diff.products:
        entry: dict[str, Any] = {
            "product": p.product_id,
            "regressed": p.regressed,
            "line_missing": p.line_missing,
            "new_line": p.old is None,
            "newly_crashed": p.newly_crashed,
        }
        for _, attribute in _SECTIONS:
            entry[attribute] = [_change(c) for c in getattr(p, attribute)]
        entry["new_clauses"] = p.new_clauses
        entry["removed_clauses"] = p.removed_clauses
        entry["metadata"] = [{"what": w, "old": o, "new": n} for w, o, n in p.metadata]
        entry["notes"] = p.notes
        products.append(entry)
    return {
        "regressed": diff.regressed,
        "regressions": diff.regression_count,
        "shared_metadata": [{"what": w, "old": o, "new": n} for w, o, n in diff.shared_metadata],
        "products": products,
    }


def render_diff_json(diff: ResultSetDiff) -> str:
    return json.dumps(diff_data(diff), ensure_ascii=False, indent=2) + "\n"
