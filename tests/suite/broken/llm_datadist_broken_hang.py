"""Broken: copy_blocks never returns when a valid map names block 3 or above.

The runner must stop the hung process after --test-timeout, report that test
as an error and go on.
"""

import time
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager
from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import Cache

__conformance_adapter__ = ADAPTER
VIOLATES = {"copy_blocks.copies"}
HANGS = True


def _reaches_block_3(cache: Any, copy_block_info: Any) -> bool:
    """A valid call that touches block 3 or above (the recipe and the bounds checks do not)."""
    if not isinstance(cache, Cache) or not isinstance(copy_block_info, dict):
        return False
    blocks = cache.cache_desc.batch_size
    indices = [
        *copy_block_info,
        *(d for v in copy_block_info.values() if isinstance(v, list) for d in v),
    ]
    return (
        all(isinstance(i, int) and 0 <= i < blocks for i in indices)
        and max(indices, default=0) >= 3
    )


def _hang(original: Any) -> Any:
    def copy_blocks(self: Any, cache: Any, copy_block_info: Any) -> Any:
        if _reaches_block_3(cache, copy_block_info):
            time.sleep(3600)
        return original(self, cache, copy_block_info)

    return copy_blocks


wrap_cache_manager("copy_blocks", _hang)
