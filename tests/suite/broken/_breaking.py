"""Helpers for the deliberately broken targets: each wraps one behaviour of the reference.

A broken target is a module that re-exports the reference's surface after
replacing one method. It is only ever imported in a suite process of its own
(the runner starts one per product line), so the patch cannot leak into
another target.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llm_datadist_ref._cache_manager import CacheManager

ADAPTER = "llm_datadist_ref.conformance_adapter:ReferenceAdapter"


def wrap_method(
    cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Replace ``cls.name`` with ``make(original)``."""
    setattr(cls, name, make(getattr(cls, name)))


def wrap_cache_manager(name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    wrap_method(CacheManager, name, make)
