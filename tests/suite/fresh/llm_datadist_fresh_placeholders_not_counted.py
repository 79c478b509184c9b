"""Fresh: the key count is checked against the batch size without the placeholders, so more
keys than the batch size are accepted when some are placeholders."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheDesc, CacheKey, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "则需要提供相同数量的CacheKey (placeholders count: they hold a batch index)"
CAUGHT_BY = {"allocate_cache.keys.count_within_batch", "allocate_cache.keys.placeholder"}


def _uncounted(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        if (
            isinstance(cache_desc, CacheDesc)
            and isinstance(cache_keys, list | tuple)
            and all(isinstance(k, CacheKey) for k in cache_keys)
            and len(cache_keys) > cache_desc.batch_size
            and len([k for k in cache_keys if not k.is_placeholder]) <= cache_desc.batch_size
        ):
            real = [k for k in cache_keys if not k.is_placeholder]
            return original(self, cache_desc, real)  # and the indices shift, too
        return original(self, cache_desc, cache_keys)

    return allocate_cache


replace(CacheManager, "allocate_cache", _uncounted)
