"""Fresh: allocate_cache rejects more keys than the batch size only after taking the memory,
which it keeps."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheDesc, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "传入cache_keys时，如果Cache的batch size>1，则需要提供相同数量的CacheKey + a failed call changes nothing"
CAUGHT_BY = {"allocate_cache.keys.count_within_batch"}


def _leaky(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        if (
            isinstance(cache_desc, CacheDesc)
            and isinstance(cache_keys, list | tuple)
            and len(cache_keys) > cache_desc.batch_size
        ):
            self._allocate(cache_desc, False)
        return original(self, cache_desc, cache_keys)

    return allocate_cache


replace(CacheManager, "allocate_cache", _leaky)
