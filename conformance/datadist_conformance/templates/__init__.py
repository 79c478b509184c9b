"""One test template per clause kind, registered by kind id.

A template is a function ``(scenario, clause, data)`` that checks one clause on
the target; ``data`` is hypothesis's ``st.data()`` for property templates and
None for example templates. The suite parametrizes each template over every
clause of its kind (suite/test_clauses.py); the project's own tests check that
every testable kind of spec/clause-kinds.yaml has exactly one template.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..harness import Scenario
    from ..speclib import Clause

__all__ = ["FAMILIES", "TEMPLATES", "Template", "template"]

#: Test families, in report order.
FAMILIES = ("surface", "negative", "config", "lifecycle", "data", "products", "stateful")

TemplateFunction = Callable[["Scenario", "Clause", Any], None]


@dataclass(frozen=True)
class Template:
    kind: str
    family: str
    function: TemplateFunction
    uses_hypothesis: bool  #: draws from st.data(); run for many examples


TEMPLATES: dict[str, Template] = {}


def template(
    kind: str, *, family: str, uses_hypothesis: bool = False
) -> Callable[[TemplateFunction], TemplateFunction]:
    """Register ``function`` as the template of clause kind ``kind``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")

    def register(function: TemplateFunction) -> TemplateFunction:
        if kind in TEMPLATES:
            raise ValueError(f"kind {kind!r} already has a template")
        TEMPLATES[kind] = Template(kind, family, function, uses_hypothesis)
        return function

    return register


def load_all() -> dict[str, Template]:
    """Import every template module (registering their templates) and return the registry."""
    from . import (  # noqa: F401
        config,
        data,
        failed_calls,
        keys,
        lifecycle,
        negative,
        products,
        scope,
        surface,
    )

    return TEMPLATES
