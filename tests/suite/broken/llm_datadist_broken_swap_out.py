"""Broken: swap out (DEVICE -> HOST) leaves the mapping's last destination block untouched."""

import ctypes
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import Cache, Placement

__conformance_adapter__ = ADAPTER
VIOLATES = {"swap_blocks.swap_out"}


def _drop_last(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        desc = getattr(src_cache, "cache_desc", None)
        valid = (
            isinstance(src_cache, Cache)
            and isinstance(dst_cache, Cache)
            and isinstance(src_to_dst, dict)
        )
        if not valid or getattr(desc, "placement", None) != Placement.DEVICE or not src_to_dst:
            return original(self, src_cache, dst_cache, src_to_dst)
        dst_desc = dst_cache.cache_desc
        block = dst_desc.size // dst_desc.batch_size
        last = list(src_to_dst.values())[-1]
        saved = []
        if isinstance(last, int) and 0 <= last < dst_desc.batch_size:
            saved = [ctypes.string_at(a + last * block, block) for a in dst_cache.tensor_addrs]
        original(self, src_cache, dst_cache, src_to_dst)  # every error still raises
        for address, data in zip(dst_cache.tensor_addrs, saved, strict=False):  # saved may be empty
            ctypes.memmove(address + last * block, data, block)
        return None

    return swap_blocks


wrap_cache_manager("swap_blocks", _drop_last)
