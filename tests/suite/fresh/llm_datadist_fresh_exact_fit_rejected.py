"""Fresh: copy_cache rejects an explicit size that ends exactly at the end of the batch slice
(off by one: offset + size >= slice instead of >)."""

from typing import Any

from _fresh import ADAPTER, before_copy_cache
from llm_datadist_alt import *  # noqa: F403

__conformance_adapter__ = ADAPTER
RULE = "size: 设置为>0的整数，表示要拷贝的大小。(the largest valid offset and size are accepted)"
CAUGHT_BY = {"copy_cache.offset_per_tensor", "copy_cache.size.semantics", "copy_cache.copies"}


def _off_by_one(
    self: Any, d_cache: Any, s_cache: Any, dst_batch: int, src_batch: int, offset: int, size: int
) -> bool:
    span = s_cache.cache_desc.size // max(s_cache.cache_desc.batch_size, 1)
    if size > 0 and offset >= 0 and offset + size == span:
        raise ValueError(f"offset {offset} + size {size} reaches the end of the slice")
    return False


before_copy_cache(_off_by_one)
