"""Fresh: a pull_cache rejected for its size (larger than the batch slice) still releases the
key, so the prompt's cache can no longer be pulled."""

import contextlib
from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheKey, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "cache_keys的引用则可以通过... Decode调用pull_cache或push_cache接口成功后解除 (only a successful pull)"
CAUGHT_BY = {"allocate_cache.refs.key_released_by_pull"}


def _releases_on_failure(original: Any) -> Any:
    def pull_cache(
        self: Any, cache_key: Any, cache: Any, batch_index: Any = 0, size: Any = -1, **kw: Any
    ) -> Any:
        try:
            return original(self, cache_key, cache, batch_index, size, **kw)
        except ValueError:
            if isinstance(cache_key, CacheKey):
                with contextlib.suppress(Exception):
                    self._peer(cache_key.cluster_id)._unbind(cache_key)
            raise

    return pull_cache


replace(CacheManager, "pull_cache", _releases_on_failure)
