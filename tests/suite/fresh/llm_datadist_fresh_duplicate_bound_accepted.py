"""Fresh: the already-bound check skips a key that occurs more than once in cache_keys, so a
bound key given twice is bound again (to the new cache)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheKey, CacheManager

__conformance_adapter__ = ADAPTER
RULE = (
    "如果cache_keys中包含了分配内存时绑定的CacheKey，则抛出LLMException异常。(with duplicates too)"
)
CAUGHT_BY = {"allocate_cache.raises.key_already_bound", "allocate_cache.keys.duplicate_last_wins"}


def _skips_duplicates(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        if isinstance(cache_keys, list | tuple) and all(
            isinstance(k, CacheKey) for k in cache_keys
        ):
            repeated = {k for k in cache_keys if list(cache_keys).count(k) > 1 and k in self._keys}
            for key in repeated:  # forget the old binding: the new cache takes the key over
                cache_id, _ = self._keys.pop(key)
                self._entries[cache_id].keys.pop(key, None)
        return original(self, cache_desc, cache_keys)

    return allocate_cache


replace(CacheManager, "allocate_cache", _skips_duplicates)
