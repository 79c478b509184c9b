"""Fresh: swap_blocks checks each pair of src_to_dst just before moving it, so a bad block
index in a later pair leaves the earlier pairs moved."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheManager

__conformance_adapter__ = ADAPTER
RULE = "a failed call changes nothing (swap_blocks with a bad index anywhere in the map)"
CAUGHT_BY = {"swap_blocks.bounds"}


def _lazy(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        if isinstance(src_to_dst, dict) and len(src_to_dst) > 1:
            for source, target in src_to_dst.items():
                original(self, src_cache, dst_cache, {source: target})
            return None
        return original(self, src_cache, dst_cache, src_to_dst)

    return swap_blocks


replace(CacheManager, "swap_blocks", _lazy)
