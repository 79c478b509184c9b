"""Cross-file rules of the spec that a per-file JSON Schema cannot express."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

from .errors import Problem
from .model import Api, Clause, Spec
from .typeexpr import GENERICS

__all__ = ["BUILTIN_TYPE_NAMES", "check"]

#: Names a type expression may use besides the spec's own classes and enums.
BUILTIN_TYPE_NAMES = frozenset({"int", "str", "string", "bool", "float", "None", "range", "object"})


def check(spec: Spec, api_docs: Mapping[str, Mapping[str, Any]]) -> list[Problem]:
    """Every cross-file problem of ``spec``; ``api_docs`` are the raw documents by file."""
    return [
        *_unique_ids(spec),
        *_products(spec),
        *_errata_targets(spec),
        *_clause_kinds_used(spec),
        *(problem for api in spec.apis for problem in _api(spec, api)),
    ]


def _duplicates(values: list[str]) -> set[str]:
    return {value for value, count in Counter(values).items() if count > 1}


def _unique_ids(spec: Spec) -> Iterator[Problem]:
    for value in _duplicates([p.id for p in spec.products]):
        yield Problem("spec/products.yaml", "products", f"duplicate product id {value!r}")
    for value in _duplicates([f.id for f in spec.feature_sets]):
        yield Problem("spec/products.yaml", "feature_sets", f"duplicate feature set id {value!r}")
    for value in _duplicates([e.id for e in spec.errata]):
        yield Problem("spec/errata.yaml", "errata", f"duplicate erratum id {value!r}")
    for value in _duplicates([k.id for k in spec.clause_kinds]):
        yield Problem("spec/clause-kinds.yaml", "kinds", f"duplicate kind id {value!r}")
    for value in _duplicates([a.id for a in spec.apis]):
        yield Problem("spec/api", "", f"duplicate API id {value!r}")
    seen: dict[str, str] = {}
    for api in spec.apis:
        for index, clause in enumerate(api.clauses):
            if clause.id in seen:
                yield Problem(
                    api.file,
                    f"clauses/{index}/id",
                    f"clause id {clause.id!r} is also used in {seen[clause.id]}",
                )
            else:
                seen[clause.id] = api.file


def _products(spec: Spec) -> Iterator[Problem]:
    product_ids = {p.id for p in spec.products}
    for index, feature_set in enumerate(spec.feature_sets):
        listed = set(feature_set.support)
        for missing in sorted(product_ids - listed):
            yield Problem(
                "spec/products.yaml",
                f"feature_sets/{index}/support",
                f"product {missing!r} is missing",
            )
        for unknown in sorted(listed - product_ids):
            yield Problem(
                "spec/products.yaml",
                f"feature_sets/{index}/support",
                f"unknown product {unknown!r}",
            )


def _errata_targets(spec: Spec) -> Iterator[Problem]:
    api_ids = {api.id for api in spec.apis}
    for index, erratum in enumerate(spec.errata):
        if erratum.api not in api_ids:
            yield Problem("spec/errata.yaml", f"errata/{index}/api", f"unknown API {erratum.api!r}")


def _clause_kinds_used(spec: Spec) -> Iterator[Problem]:
    used = {clause.kind for clause in spec.clauses()}
    for index, kind in enumerate(spec.clause_kinds):
        if kind.id not in used:
            yield Problem(
                "spec/clause-kinds.yaml", f"kinds/{index}", f"kind {kind.id!r} is used by no clause"
            )


def _api(spec: Spec, api: Api) -> Iterator[Problem]:
    file = api.file
    expected_id = f"{api.owner}.{api.name}" if api.owner else api.name
    if api.id != expected_id:
        yield Problem(file, "id", f"id must be {expected_id!r} (owner.name)")
    if file != f"spec/api/{api.id}.yaml":
        yield Problem(file, "id", f"the file of {api.id!r} must be named {api.id}.yaml")
    if api.support not in {f.id for f in spec.feature_sets}:
        yield Problem(file, "support", f"unknown feature set {api.support!r}")
    if not api.clauses:
        yield Problem(file, "clauses", "an entry needs at least one clause")
    erratum_ids = {e.id for e in spec.errata}
    for ref in api.errata:
        if ref not in erratum_ids:
            yield Problem(file, "errata", f"unknown erratum {ref!r}")
    if api.signature_as_printed is not None and not api.errata:
        yield Problem(
            file, "signature_as_printed", "a replaced signature needs the erratum that replaces it"
        )
    yield from _signature(spec, api)
    clause_ids = {clause.id for clause in api.clauses}
    for index, (_, clause_id) in enumerate(api.errors):
        if clause_id not in clause_ids:
            yield Problem(
                file, f"errors/{index}/clause", f"{clause_id!r} is not a clause of {api.id}"
            )
    for index, clause in enumerate(api.clauses):
        yield from _clause(spec, api, index)
        for ref in clause.errata:
            if ref not in erratum_ids:
                yield Problem(file, f"clauses/{index}/errata", f"unknown erratum {ref!r}")


def _known_type_names(spec: Spec) -> frozenset[str]:
    classes = {api.name for api in spec.apis if api.owner is None}
    return BUILTIN_TYPE_NAMES | set(GENERICS) | classes


def _signature(spec: Spec, api: Api) -> Iterator[Problem]:
    known = _known_type_names(spec)
    types: list[tuple[str, frozenset[str]]] = []
    if api.signature is not None:
        param_names = [p.name for p in api.signature.params]
        for name in _duplicates(param_names):
            yield Problem(api.file, "signature/params", f"duplicate parameter {name!r}")
        seen_optional = False
        for index, param in enumerate(api.signature.params):
            if param.required and seen_optional:
                yield Problem(
                    api.file,
                    f"signature/params/{index}",
                    "a required parameter follows an optional one",
                )
            seen_optional = seen_optional or not param.required
            types.append((f"signature/params/{index}/type", param.type.names()))
    if api.returns is not None:
        types.append(("returns/type", api.returns.names()))
    types.extend((f"properties/{i}/type", p.type.names()) for i, p in enumerate(api.properties))
    for path, names in types:
        for unknown in sorted(names - known):
            yield Problem(api.file, path, f"unknown type name {unknown!r}")


def _clause(spec: Spec, api: Api, index: int) -> Iterator[Problem]:
    clause = api.clauses[index]
    path = f"clauses/{index}"
    prefix = "products" if clause.kind == "unsupported_on_product" else api.name
    if not clause.id.startswith(prefix + "."):
        yield Problem(api.file, f"{path}/id", f"clause ids of {api.id} start with {prefix!r}.")
    if api.source_document == "seed" and clause.basis == "stated" and not clause.text.zh:
        yield Problem(
            api.file,
            f"{path}/text",
            "a stated clause of a seed entry needs the verbatim sentence in text.zh",
        )
    yield from _level(api, clause, path)
    try:
        kind = spec.clause_kind(clause.kind)
    except KeyError:
        yield Problem(
            api.file,
            f"{path}/kind",
            f"unknown clause kind {clause.kind!r} (spec/clause-kinds.yaml)",
        )
        return
    validator = jsonschema.Draft202012Validator(dict(kind.params_schema))
    for error in validator.iter_errors(dict(clause.params)):
        where = "/".join(str(p) for p in error.absolute_path)
        yield Problem(api.file, f"{path}/params" + (f"/{where}" if where else ""), error.message)
    for reading in clause.params.get("readings", ()):
        if reading not in spec.constants:
            yield Problem(api.file, f"{path}/params/readings", f"unknown constant {reading!r}")


def _level(api: Api, clause: Clause, path: str) -> Iterator[Problem]:
    """Only vendor material is as-shipped; vendor material at document level says why."""
    if api.source_document == "seed" and clause.level != "document":
        yield Problem(api.file, f"{path}/level", "a clause of a seed entry is at level document")
    if api.source_document != "seed" and clause.level == "document" and not clause.rationale:
        yield Problem(
            api.file,
            f"{path}/rationale",
            "a document-level clause of a vendor entry needs a rationale naming the seed text "
            "that uses it",
        )
