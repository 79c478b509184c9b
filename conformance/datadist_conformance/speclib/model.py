"""Typed, immutable objects for the spec (see spec/schema/ for the file format).

Everything here is frozen: the loader builds it once and hands the same objects
to the test generators, the CLI and the reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, TypeVar

from .typeexpr import TypeExpr

__all__ = [
    "LEVELS",
    "Api",
    "Clause",
    "ClauseKind",
    "EnumMember",
    "Erratum",
    "FeatureSet",
    "Option",
    "OptionField",
    "Param",
    "Product",
    "Property",
    "Signature",
    "Spec",
    "Text",
    "VendorObserved",
]

#: Certification levels, weakest first: what the seed document says, and that plus what the
#: vendor documents or ships elsewhere. A clause belongs to the lowest level that checks it.
LEVELS = ("document", "as-shipped")


def frozen_mapping(data: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """A read-only view of a copy of ``data``."""
    return MappingProxyType(dict(data or {}))


@dataclass(frozen=True)
class Text:
    """A sentence in the document's language and in English."""

    en: str
    zh: str | None = None


@dataclass(frozen=True)
class VendorObserved:
    """What the shipped vendor package does where it departs from a clause."""

    behaviour: str
    source: str
    predicted: str  #: "pass" or "fail": the outcome its clause's test would have (source reading)


@dataclass(frozen=True)
class Param:
    name: str
    type_text: str  #: exactly as documented
    type: TypeExpr
    required: bool
    default: str | None  #: Python source text of the default; None when required
    description: Text | None = None


@dataclass(frozen=True)
class Signature:
    text: str
    params: tuple[Param, ...]
    var_keyword: str | None = None
    var_keyword_keys: tuple[str, ...] = ()

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        raise KeyError(name)


@dataclass(frozen=True)
class ClauseKind:
    id: str
    description: str
    params_schema: Mapping[str, Any]
    requires: frozenset[str]
    testable: bool


@dataclass(frozen=True)
class Clause:
    id: str
    api_id: str
    kind: str
    text: Text
    basis: str = "stated"
    params: Mapping[str, Any] = field(default_factory=frozen_mapping)
    rationale: str | None = None
    untestable: str | None = None
    vendor_observed: VendorObserved | None = None
    errata: tuple[str, ...] = ()
    level: str = "document"  #: one of LEVELS: the lowest level whose certificate it can fail

    def checked_at(self, level: str) -> bool:
        """Whether a certificate at ``level`` checks this clause."""
        return LEVELS.index(self.level) <= LEVELS.index(level)


@dataclass(frozen=True)
class Property:
    name: str
    type_text: str
    type: TypeExpr
    description: str | None = None


@dataclass(frozen=True)
class EnumMember:
    name: str
    value: int | None = None
    itemsize: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class OptionField:
    name: str
    type: str
    required: bool
    default: int | None = None
    minimum: int | None = None
    exclusive_minimum: int | None = None
    exclusive_maximum: int | None = None
    unit: str | None = None
    description: Text | None = None


@dataclass(frozen=True)
class Option:
    key: str
    format: str
    fields: tuple[OptionField, ...] = ()


@dataclass(frozen=True)
class Api:
    """One entry of the surface: a method, property, config option, class, enum or exception."""

    id: str
    owner: str | None
    name: str
    kind: str
    status: str
    source_document: str
    source_section: str
    source_ref: str | None
    summary: Text
    support: str  #: feature set id
    products: Mapping[str, bool]  #: product id -> supported, resolved from the feature set
    clauses: tuple[Clause, ...]
    signature: Signature | None = None
    signature_as_printed: str | None = None
    returns: TypeExpr | None = None
    returns_text: str | None = None
    returns_description: Text | None = None
    errors: tuple[tuple[tuple[str, ...], str], ...] = ()  #: (exception names, clause id)
    option: Option | None = None
    properties: tuple[Property, ...] = ()
    members: tuple[EnumMember, ...] = ()
    bases: tuple[str, ...] = ()
    errata: tuple[str, ...] = ()
    notes: str | None = None
    file: str = ""  #: path relative to the spec root


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    name_en: str | None = None


@dataclass(frozen=True)
class FeatureSet:
    id: str
    description: str
    source: str
    support: Mapping[str, bool]


@dataclass(frozen=True)
class Erratum:
    id: str
    api: str
    kind: str
    summary: str
    source: str
    resolution: str
    quote: str | None = None


@dataclass(frozen=True)
class Spec:
    """The whole validated spec."""

    apis: tuple[Api, ...]
    products: tuple[Product, ...]
    feature_sets: tuple[FeatureSet, ...]
    errata: tuple[Erratum, ...]
    clause_kinds: tuple[ClauseKind, ...]
    constants: Mapping[str, int]
    content_hash: str  #: sha256 of every spec file, for reports
    root: str  #: where it was loaded from

    def api(self, api_id: str) -> Api:
        return _find(self.apis, api_id)

    def clauses(self) -> tuple[Clause, ...]:
        return tuple(clause for api in self.apis for clause in api.clauses)

    def clause(self, clause_id: str) -> Clause:
        return _find(self.clauses(), clause_id)

    def clause_kind(self, kind_id: str) -> ClauseKind:
        return _find(self.clause_kinds, kind_id)

    def clauses_of_kind(self, kind_id: str) -> tuple[Clause, ...]:
        return tuple(clause for clause in self.clauses() if clause.kind == kind_id)

    def product(self, product_id: str) -> Product:
        return _find(self.products, product_id)

    def erratum(self, erratum_id: str) -> Erratum:
        return _find(self.errata, erratum_id)


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


_T = TypeVar("_T", bound=_Identified)


def _find(items: Iterable[_T], item_id: str) -> _T:
    """The item with ``item_id``; KeyError names it when there is none."""
    for item in items:
        if item.id == item_id:
            return item
    raise KeyError(item_id)
