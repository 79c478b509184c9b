"""Fresh: allocate_blocks_cache accepts a BlocksCacheKey but never binds it, so a peer's
pull_blocks by that key finds no cache."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt._cache_manager import CacheManager

__conformance_adapter__ = ADAPTER
RULE = "blocks_cache_key: 索引一个blocks cache (the key indexes the blocks cache)"
CAUGHT_BY = {"allocate_blocks_cache.key.indexes"}


def _ignores_key(original: Any) -> Any:
    def allocate_blocks_cache(self: Any, cache_desc: Any, blocks_cache_key: Any = None) -> Any:
        cache = original(self, cache_desc, blocks_cache_key)  # every check of the key is made
        if self._blocks_keys.get(blocks_cache_key) == cache.cache_id:
            del self._blocks_keys[blocks_cache_key]
            self._entries[cache.cache_id].blocks_key = None
        return cache

    return allocate_blocks_cache


replace(CacheManager, "allocate_blocks_cache", _ignores_key)
