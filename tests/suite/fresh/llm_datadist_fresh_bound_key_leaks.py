"""Fresh: allocate_cache takes the pool memory before it checks for an already bound key,
and keeps it when it raises (a failed call that changes the pool)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403 - the surface under test
from llm_datadist_alt import CacheManager, LLMException, LLMStatusCode

__conformance_adapter__ = ADAPTER
RULE = "如果cache_keys中包含了分配内存时绑定的CacheKey，则抛出LLMException异常。 + a failed call changes nothing"
CAUGHT_BY = {"allocate_cache.raises.key_already_bound"}


def _leaky(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        keys = list(cache_keys) if isinstance(cache_keys, list | tuple) else []
        if any(k in self._keys for k in keys if hasattr(k, "is_placeholder")):
            self._allocate(cache_desc, False)  # the memory is taken, and never given back
            raise LLMException(
                "a key is already bound", status_code=LLMStatusCode.LLM_PARAM_INVALID
            )
        return original(self, cache_desc, cache_keys)

    return allocate_cache


replace(CacheManager, "allocate_cache", _leaky)
