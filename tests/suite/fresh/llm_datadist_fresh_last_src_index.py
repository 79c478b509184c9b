"""Fresh: copy_cache rejects the last batch index as src_batch_index when the batch has three
or more indices (an off-by-one in its bounds check)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "src_batch_index: 源Cache的batch_index (every batch index of the source is valid)"
CAUGHT_BY = {"copy_cache.copies", "copy_cache.req_id.logging_only"}


def _off_by_one(original: Any) -> Any:
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
        if isinstance(src, Cache) and type(src_batch_index) is int:
            batch = src.cache_desc.batch_size
            if batch >= 3 and src_batch_index == batch - 1:
                raise ValueError(f"src_batch_index {src_batch_index} out of range")
        return original(self, dst, src, dst_batch_index, src_batch_index, offset, size, req_id)

    return copy_cache


replace(CacheManager, "copy_cache", _off_by_one)
