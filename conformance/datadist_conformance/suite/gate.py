"""Whether a clause can be checked on this run, and running its template."""

from __future__ import annotations

from typing import Any

from ..checks import not_applicable, untestable, untestable_everywhere
from ..context import SuiteContext
from ..harness import Scenario
from ..recorder import Recorder
from ..templates import load_all

__all__ = ["run_clause"]

TEMPLATES = load_all()


def run_clause(ctx: SuiteContext, recorder: Recorder, clause_id: str, data: Any) -> None:
    """Check one clause: skip it as not-applicable or untestable, or run its kind's template."""
    spec = ctx.spec
    clause = spec.clause(clause_id)
    api = spec.api(clause.api_id)
    kind = spec.clause_kind(clause.kind)
    if kind.id != "unsupported_on_product" and not api.products[ctx.product_id]:
        not_applicable(f"{api.id} is not supported on {ctx.product_id} (feature set {api.support})")
    if not clause.checked_at(ctx.level):
        not_applicable(
            f"{clause.id} is at level {clause.level} (vendor material only); "
            f"this run certifies level {ctx.level}"
        )
    if clause.untestable:
        untestable_everywhere(clause.untestable)
    missing = sorted(kind.requires - ctx.target.adapter.capabilities)
    if missing:
        untestable(f"the adapter {ctx.target.adapter.name} lacks {', '.join(missing)}")
    with Scenario(ctx, clause, recorder) as scenario:
        TEMPLATES[clause.kind].function(scenario, clause, data)
