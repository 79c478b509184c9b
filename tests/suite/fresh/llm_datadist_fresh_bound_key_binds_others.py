"""Fresh: allocate_cache binds keys one by one and does not roll back when a later key is
already bound: the keys before it stay bound (and hold the memory)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheManager, LLMException, LLMStatusCode

__conformance_adapter__ = ADAPTER
RULE = "如果cache_keys中包含了分配内存时绑定的CacheKey，则抛出LLMException异常。 + a failed call changes nothing"
CAUGHT_BY = {"allocate_cache.raises.key_already_bound"}


def _no_rollback(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        keys = list(cache_keys) if isinstance(cache_keys, list | tuple) else []
        if not any(k in self._keys for k in keys if hasattr(k, "is_placeholder")):
            return original(self, cache_desc, cache_keys)
        entry = self._allocate(cache_desc, False)
        entry.id_held = False  # the caller never gets the cache
        for index, key in enumerate(keys):
            if key.is_placeholder:
                continue
            if key in self._keys:
                raise LLMException(
                    f"{key!r} is already bound", status_code=LLMStatusCode.LLM_PARAM_INVALID
                )
            entry.keys[key] = index
            self._keys[key] = (entry.cache.cache_id, index)
        raise AssertionError("unreachable")

    return allocate_cache


replace(CacheManager, "allocate_cache", _no_rollback)
