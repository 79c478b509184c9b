"""The normalized spec as plain JSON data: the public interface of `spec dump`.

The shape is documented in README.md ("The dump format"); changing it is a
breaking change for the tools that read it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .model import Api, Clause, Erratum, Param, Spec

__all__ = ["DUMP_FORMAT_VERSION", "dump"]

#: Bumped on any incompatible change of the dump's shape.
DUMP_FORMAT_VERSION = 1


def dump(spec: Spec) -> dict[str, Any]:
    """The whole spec as JSON-compatible data, APIs and clauses in spec order."""
    return {
        "format_version": DUMP_FORMAT_VERSION,
        "content_hash": spec.content_hash,
        "apis": [_api(spec, api) for api in spec.apis],
        "products": [{"id": p.id, "name": p.name, "name_en": p.name_en} for p in spec.products],
        "feature_sets": [
            {
                "id": f.id,
                "description": f.description,
                "source": f.source,
                "support": dict(f.support),
            }
            for f in spec.feature_sets
        ],
        "constants": dict(spec.constants),
        "errata": [_erratum(e) for e in spec.errata],
        "clause_kinds": [
            {
                "id": k.id,
                "description": k.description,
                "requires": sorted(k.requires),
                "testable": k.testable,
                "params_schema": {
                    key: value for key, value in k.params_schema.items() if key != "$defs"
                },
            }
            for k in spec.clause_kinds
        ],
    }


def _param(param: Param) -> dict[str, Any]:
    return {
        "name": param.name,
        "type": param.type_text,
        "default": param.default,
        "required": param.required,
    }


def _clause(spec: Spec, clause: Clause) -> dict[str, Any]:
    return {
        "id": clause.id,
        "kind": clause.kind,
        "basis": clause.basis,
        "level": clause.level,
        "normative": spec.clause_kind(clause.kind).testable,
        "text_zh": clause.text.zh,
        "text_en": clause.text.en,
        "params": dict(clause.params),
        "rationale": clause.rationale,
        "untestable": clause.untestable,
        "vendor_observed": (
            {
                "behaviour": clause.vendor_observed.behaviour,
                "source": clause.vendor_observed.source,
                "predicted": clause.vendor_observed.predicted,
            }
            if clause.vendor_observed
            else None
        ),
        "errata": list(clause.errata),
    }


def _api(spec: Spec, api: Api) -> dict[str, Any]:
    signature = api.signature
    return {
        "id": api.id,
        "owner": api.owner,
        "name": api.name,
        "kind": api.kind,
        "status": api.status,
        "source": {
            "document": api.source_document,
            "section": api.source_section,
            "ref": api.source_ref,
        },
        "summary": {"zh": api.summary.zh, "en": api.summary.en},
        "signature": signature.text if signature else None,
        "signature_as_printed": api.signature_as_printed,
        "params": [_param(p) for p in signature.params] if signature else [],
        "var_keyword": signature.var_keyword if signature else None,
        "returns": api.returns_text,
        "errors": [{"exceptions": list(names), "clause": clause} for names, clause in api.errors],
        "option": (
            {
                "key": api.option.key,
                "format": api.option.format,
                "fields": [
                    {k: v for k, v in asdict(f).items() if v is not None} for f in api.option.fields
                ],
            }
            if api.option
            else None
        ),
        "properties": [{"name": p.name, "type": p.type_text} for p in api.properties],
        "members": [{"name": m.name, "value": m.value} for m in api.members],
        "bases": list(api.bases),
        "support": api.support,
        "products": dict(api.products),
        "errata": list(api.errata),
        "clauses": [_clause(spec, c) for c in api.clauses],
    }


def _erratum(erratum: Erratum) -> dict[str, Any]:
    return {
        "id": erratum.id,
        "api": erratum.api,
        "kind": erratum.kind,
        "summary": erratum.summary,
        "quote": erratum.quote,
        "source": erratum.source,
        "resolution": erratum.resolution,
    }
