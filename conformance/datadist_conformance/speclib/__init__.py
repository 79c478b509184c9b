"""The spec: loader, typed model and type grammar of the llm_datadist API specs."""

from __future__ import annotations

from .errors import Problem, SpecError
from .loader import SPEC_DIR_ENV, load_spec, spec_root
from .model import LEVELS, Api, Clause, ClauseKind, Erratum, Param, Product, Signature, Spec
from .typeexpr import TypeExpr, TypeExprError, parse

__all__ = [
    "LEVELS",
    "SPEC_DIR_ENV",
    "Api",
    "Clause",
    "ClauseKind",
    "Erratum",
    "Param",
    "Problem",
    "Product",
    "Signature",
    "Spec",
    "SpecError",
    "TypeExpr",
    "TypeExprError",
    "load_spec",
    "parse",
    "spec_root",
]
