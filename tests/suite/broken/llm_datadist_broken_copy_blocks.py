"""Broken: copy_blocks copies each source block to its first destination only."""

from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import Cache

__conformance_adapter__ = ADAPTER
VIOLATES = {"copy_blocks.copies"}


def _first_destination(original: Any) -> Any:
    def copy_blocks(self: Any, cache: Any, copy_block_info: Any) -> Any:
        if (
            isinstance(cache, Cache)
            and isinstance(copy_block_info, dict)
            and all(isinstance(v, list) and v for v in copy_block_info.values())
        ):
            blocks = cache.cache_desc.batch_size
            indices = [*copy_block_info, *(d for v in copy_block_info.values() for d in v)]
            if all(isinstance(i, int) and 0 <= i < blocks for i in indices):
                return original(
                    self, cache, {src: dsts[:1] for src, dsts in copy_block_info.items()}
                )
        return original(self, cache, copy_block_info)

    return copy_blocks


wrap_cache_manager("copy_blocks", _first_destination)
