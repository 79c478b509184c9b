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

from llm_datadist_alt import Cache, CacheManager

ADAPTER = "llm_datadist_alt.adapter:AltAdapter"

#: ``hook(manager, dst, src, dst_batch_index, src_batch_index, offset, size)``: True when it has
#: made the call itself.
CopyHook = Callable[[Any, Any, Any, int, int, int, int], bool]


def replace(cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace ``cls.name`` with ``make(original)``."""
    setattr(cls, name, make(getattr(cls, name)))


def before_copy_cache(hook: CopyHook) -> None:
    """Run ``hook`` first in every copy_cache whose arguments have the documented types (two
    Caches, int indices, offset and size); the original copy_cache does the rest, unless the
    hook has made the call (then copy_cache returns None)."""
    original = CacheManager.copy_cache

    def copy_cache(
        self: Any,
        dst: Any,
        src: Any,
        dst_batch_index: Any = 0,
        src_batch_index: Any = 0,
        offset: Any = 0,
        size: Any = -1,
        req_id: Any = None,
    ) -> Any:
        args = (dst_batch_index, src_batch_index, offset, size)
        typed = isinstance(dst, Cache) and isinstance(src, Cache)
        if typed and all(type(a) is int for a in args) and hook(self, dst, src, *args):
            return None
        return original(self, dst, src, dst_batch_index, src_batch_index, offset, size, req_id)

    CacheManager.copy_cache = copy_cache  # type: ignore[method-assign]
