"""Broken: allocate_cache silently drops keys beyond the batch size instead of rejecting them."""

from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import CacheDesc

__conformance_adapter__ = ADAPTER
VIOLATES = {"allocate_cache.keys.count_within_batch"}


def _truncate(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        if isinstance(cache_desc, CacheDesc) and isinstance(cache_keys, list | tuple):
            cache_keys = list(cache_keys)[: cache_desc.shape[0]]
        return original(self, cache_desc, cache_keys)

    return allocate_cache


wrap_cache_manager("allocate_cache", _truncate)
