"""Fresh: copy_blocks checks each entry of copy_block_info just before copying it, so a bad
block index in a later entry leaves the earlier entries copied."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheManager

__conformance_adapter__ = ADAPTER
RULE = "a failed call changes nothing (copy_blocks with a bad index anywhere in the map)"
CAUGHT_BY = {"copy_blocks.bounds"}


def _lazy(original: Any) -> Any:
    def copy_blocks(self: Any, cache: Any, copy_block_info: Any) -> Any:
        if isinstance(copy_block_info, dict) and len(copy_block_info) > 1:
            for source, targets in copy_block_info.items():
                original(self, cache, {source: targets})
            return None
        return original(self, cache, copy_block_info)

    return copy_blocks


replace(CacheManager, "copy_blocks", _lazy)
