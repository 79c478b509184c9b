"""Fresh: swap_blocks takes a staging buffer of one block from the device pool and keeps it when
the call raises (a failed call that changes the pool)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager, Placement
from llm_datadist_alt._pool import PoolExhausted

__conformance_adapter__ = ADAPTER
RULE = "a failed call changes nothing (the pool holds what it held after a swap_blocks that raised)"
CAUGHT_BY = {"swap_blocks.bounds", "swap_blocks.raises.mismatch"}


def _leaks(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        pool = self._pools.get(Placement.DEVICE)
        if pool is None or not isinstance(src_cache, Cache):
            return original(self, src_cache, dst_cache, src_to_dst)
        desc = src_cache.cache_desc
        block = max(desc.size // max(desc.batch_size, 1), 1)
        try:
            staging = pool.allocate(block)
        except PoolExhausted:
            return original(self, src_cache, dst_cache, src_to_dst)
        original(self, src_cache, dst_cache, src_to_dst)  # a raise skips the release below
        pool.release(staging, block)
        return None

    return swap_blocks


replace(CacheManager, "swap_blocks", _leaks)
