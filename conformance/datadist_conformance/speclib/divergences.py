"""Where the shipped vendor package is recorded to differ from the spec, in one list.

Each clause may carry ``vendor_observed`` (what the vendor does, with a source); errata of
kind ``vendor-divergence`` say what the spec does about the larger ones. `datadist-conformance
spec divergences` prints this list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .model import Clause, Erratum, Spec

__all__ = ["Divergence", "divergences", "render_divergences"]


@dataclass(frozen=True)
class Divergence:
    clause: Clause
    errata: tuple[Erratum, ...]  #: the vendor-divergence errata the clause cites


def divergences(spec: Spec) -> list[Divergence]:
    """Every clause with a vendor_observed note, in spec order."""
    by_id = {erratum.id: erratum for erratum in spec.errata}
    return [
        Divergence(
            clause,
            tuple(by_id[e] for e in clause.errata if by_id[e].kind == "vendor-divergence"),
        )
        for clause in spec.clauses()
        if clause.vendor_observed is not None
    ]


def render_divergences(spec: Spec) -> Iterator[str]:
    """The list as text lines: clause, the document's rule, the vendor's behaviour, the source."""
    found = divergences(spec)
    for item in found:
        clause, observed = item.clause, item.clause.vendor_observed
        assert observed is not None
        yield f"{clause.id}  (level {clause.level}, {clause.kind})"
        yield f"  document: {clause.text.en}"
        yield f"  vendor:   {observed.behaviour}"
        yield f"  source:   {observed.source}"
        if item.errata:
            yield f"  erratum:  {', '.join(e.id for e in item.errata)}"
    errata = [e for e in spec.errata if e.kind == "vendor-divergence"]
    for erratum in errata:
        yield f"{erratum.id}: {erratum.resolution}"
    yield (
        f"{len(found)} clauses where the shipped vendor package is recorded to differ; "
        f"{len(errata)} vendor-divergence errata"
    )
