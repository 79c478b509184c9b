"""Fresh: a rejected allocate_cache (more keys than the batch size) rolls the key table back to
an empty one, so keys bound to live caches before the call are bound no more."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheDesc, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "传入cache_keys时...需要提供相同数量的CacheKey + a failed call changes nothing (bindings)"
CAUGHT_BY = {"allocate_cache.keys.count_within_batch"}


def _clears(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        try:
            return original(self, cache_desc, cache_keys)
        except Exception:
            if (
                isinstance(cache_desc, CacheDesc)
                and isinstance(cache_keys, list | tuple)
                and len(cache_keys) > cache_desc.batch_size
            ):
                self._keys.clear()
                for entry in self._entries.values():
                    entry.keys.clear()
            raise

    return allocate_cache


replace(CacheManager, "allocate_cache", _clears)
