"""Fresh: copy_cache rejects the last batch index as src_batch_index when the batch has three
or more indices (an off-by-one in its bounds check)."""

from typing import Any

from _fresh import ADAPTER, before_copy_cache
from llm_datadist_alt import *  # noqa: F403

__conformance_adapter__ = ADAPTER
RULE = "src_batch_index: 源Cache的batch_index (every batch index of the source is valid)"
CAUGHT_BY = {"copy_cache.copies", "copy_cache.req_id.logging_only"}


def _off_by_one(
    self: Any, d_cache: Any, s_cache: Any, dst_batch: int, src_batch: int, offset: int, size: int
) -> bool:
    batch = s_cache.cache_desc.batch_size
    if batch >= 3 and src_batch == batch - 1:
        raise ValueError(f"src_batch_index {src_batch} out of range")
    return False


before_copy_cache(_off_by_one)
