"""Broken: copy_blocks dereferences a null pointer when a valid map names block 3 or above.

The process dies (SIGSEGV); the runner must report that test as an error and go on.
"""

import ctypes
from typing import Any

from _breaking import ADAPTER, reaches_block_3, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"copy_blocks.copies"}
CRASHES = True


def _segfault(original: Any) -> Any:
    def copy_blocks(self: Any, cache: Any, copy_block_info: Any) -> Any:
        if reaches_block_3(cache, copy_block_info):
            ctypes.memmove(16, b"x", 1)  # writes near address 0: SIGSEGV
        return original(self, cache, copy_block_info)

    return copy_blocks


wrap_cache_manager("copy_blocks", _segfault)
