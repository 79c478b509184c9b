"""Broken: copy_blocks returns the cache it copied in (the seed: 正常情况下无返回值)."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"copy_blocks.returns.none"}


def _returns_cache(original: Any) -> Any:
    @functools.wraps(original)
    def copy_blocks(self: Any, cache: Any, copy_block_info: Any) -> Any:
        original(self, cache, copy_block_info)
        return cache

    return copy_blocks


wrap_cache_manager("copy_blocks", _returns_cache)
