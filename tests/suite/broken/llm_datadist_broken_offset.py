"""Broken: copy_cache ignores `offset` when copying (bounds are still checked with it)."""

from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import Cache

__conformance_adapter__ = ADAPTER
VIOLATES = {"copy_cache.offset_per_tensor"}


def _ignore_offset(original: Any) -> Any:
    def copy_cache(
        self: Any,
        dst: Any,
        src: Any,
        dst_batch_index: int = 0,
        src_batch_index: int = 0,
        offset: int = 0,
        size: int = -1,
        req_id: Any = None,
    ) -> Any:
        # Validate exactly as asked first, so that every error case still errors...
        valid_types = isinstance(dst, Cache) and isinstance(offset, int) and isinstance(size, int)
        if valid_types and offset > 0 and size > 0 and not isinstance(offset, bool):
            span = dst.cache_desc.size // dst.cache_desc.batch_size
            if offset + size > span:
                return original(
                    self, dst, src, dst_batch_index, src_batch_index, offset, size, req_id
                )
            # ...then copy from offset 0.
            return original(self, dst, src, dst_batch_index, src_batch_index, 0, size, req_id)
        return original(self, dst, src, dst_batch_index, src_batch_index, offset, size, req_id)

    return copy_cache


wrap_cache_manager("copy_cache", _ignore_offset)
