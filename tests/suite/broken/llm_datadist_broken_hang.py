"""Broken: copy_blocks never returns when a valid map names block 3 or above.

The runner must stop the hung process after --test-timeout, report that test
as an error and go on.
"""

import time
from typing import Any

from _breaking import ADAPTER, reaches_block_3, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"copy_blocks.copies"}
HANGS = True


def _hang(original: Any) -> Any:
    def copy_blocks(self: Any, cache: Any, copy_block_info: Any) -> Any:
        if reaches_block_3(cache, copy_block_info):
            time.sleep(3600)
        return original(self, cache, copy_block_info)

    return copy_blocks


wrap_cache_manager("copy_blocks", _hang)
