"""Fresh: allocate_cache refuses a key list that both has a placeholder and omits trailing
indices (each rule alone works)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheDesc, CacheKey, CacheManager, LLMException, LLMStatusCode

__conformance_adapter__ = ADAPTER
RULE = "如果空闲的batch_index在末尾，则可以省略。(also when other indices hold placeholders)"
CAUGHT_BY = {
    "allocate_cache.keys.trailing_omitted",
    "allocate_cache.keys.placeholder",
    "allocate_cache.keys.duplicate_last_wins",
}


def _strict(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        if (
            isinstance(cache_desc, CacheDesc)
            and isinstance(cache_keys, list | tuple)
            and all(isinstance(k, CacheKey) for k in cache_keys)
            and any(k.is_placeholder for k in cache_keys)
            and len(cache_keys) < cache_desc.batch_size
        ):
            raise LLMException(
                "with placeholders, give a key for every batch index",
                status_code=LLMStatusCode.LLM_PARAM_INVALID,
            )
        return original(self, cache_desc, cache_keys)

    return allocate_cache


replace(CacheManager, "allocate_cache", _strict)
