"""Helpers for the fresh single-rule targets: each patches one behaviour of llm_datadist_alt.

The fresh targets were written after the suite, from the seed document, to
measure the suite's power on bugs it was not tuned to. Each violates one
sentence of the document or one integrity rule ("a failed call changes
nothing", "every page is usable again") and nothing else. Like the broken
targets, a fresh target is only imported in a suite process of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ADAPTER = "llm_datadist_alt.adapter:AltAdapter"


def replace(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``cls.name`` with ``make(original)``."""
    setattr(cls, name, make(getattr(cls, name)))
