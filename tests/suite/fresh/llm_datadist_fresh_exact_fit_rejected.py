"""Fresh: copy_cache rejects an explicit size that ends exactly at the end of the batch slice
(off by one: offset + size >= slice instead of >)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "size: 设置为>0的整数，表示要拷贝的大小。(the largest valid offset and size are accepted)"
CAUGHT_BY = {"copy_cache.offset_per_tensor", "copy_cache.size.semantics", "copy_cache.copies"}


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
        if (
            isinstance(src, Cache)
            and type(offset) is int
            and type(size) is int
            and size > 0
            and offset >= 0
        ):
            span = src.cache_desc.size // max(src.cache_desc.batch_size, 1)
            if offset + size == span:
                raise ValueError(f"offset {offset} + size {size} reaches the end of the slice")
        return original(self, dst, src, dst_batch_index, src_batch_index, offset, size, req_id)

    return copy_cache


replace(CacheManager, "copy_cache", _off_by_one)
