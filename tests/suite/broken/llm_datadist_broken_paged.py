"""Broken: swap_blocks with a cache that is not a blocks cache raises KeyError (the seed names no
error for uses outside PagedAttention; a documented exception or a clean swap conforms)."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"swap_blocks.paged_only"}


def _key_error(original: Any) -> Any:
    @functools.wraps(original)
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        if any(getattr(c, "is_blocks_cache", True) is False for c in (src_cache, dst_cache)):
            raise KeyError("blocks")
        return original(self, src_cache, dst_cache, src_to_dst)

    return swap_blocks


wrap_cache_manager("swap_blocks", _key_error)
