"""Helpers for the deliberately broken targets: each wraps one behaviour of the reference.

A broken target is a module that re-exports the reference's surface after
replacing one method. It is only ever imported in a suite process of its own
(the runner starts one per product line), so the patch cannot leak into
another target.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from llm_datadist_ref import Cache
from llm_datadist_ref._cache_manager import CacheManager

ADAPTER = "llm_datadist_ref.conformance_adapter:ReferenceAdapter"


def wrap_method(
    cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Replace ``cls.name`` with ``make(original)``."""
    setattr(cls, name, make(getattr(cls, name)))


def wrap_cache_manager(name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    wrap_method(CacheManager, name, make)


def reaches_block_3(cache: Any, copy_block_info: Any) -> bool:
    """A valid copy_blocks call that touches block 3 or above (the recipe and the bounds checks do not)."""
    if not isinstance(cache, Cache) or not isinstance(copy_block_info, dict):
        return False
    blocks = cache.cache_desc.batch_size
    indices = [
        *copy_block_info,
        *(d for v in copy_block_info.values() if isinstance(v, list) for d in v),
    ]
    return (
        all(isinstance(i, int) and 0 <= i < blocks for i in indices)
        and max(indices, default=0) >= 3
    )


def ungated(original: Callable[..., Any]) -> Callable[..., Any]:
    """``original`` run on an unsupported line as on a supported one: the manager's engine
    stands in for the legacy engine the line does not have."""

    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._legacy_engine is not None:
            return original(self, *args, **kwargs)
        self._legacy_engine = self._engine
        try:
            return original(self, *args, **kwargs)
        finally:
            self._legacy_engine = None

    return method
