"""Fresh: pull_cache with size -1 checks the source's slice against itself only, so a pull into
a destination whose batch slices are smaller writes the rest of the source's slice past the
destination's slice (into the next batch, or past the end of the cache)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheKey, CacheKeyByIdAndIndex, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "a pull_cache writes batch batch_index of its destination and nothing else"
CAUGHT_BY = {"allocate_cache.refs.key_released_by_pull"}


def _spills(original: Any) -> Any:
    def pull_cache(
        self: Any, cache_key: Any, cache: Any, batch_index: Any = 0, size: Any = -1, **kw: Any
    ) -> Any:
        typed = isinstance(cache_key, CacheKey | CacheKeyByIdAndIndex) and isinstance(cache, Cache)
        if not (typed and size == -1 and not kw and type(batch_index) is int):
            return original(self, cache_key, cache, batch_index, size, **kw)
        src, index = self._peer(cache_key.cluster_id)._source(cache_key)
        s, d = src.view, self._live_view(cache, "cache")
        if not s.slice_bytes > d.slice_bytes or s.num_tensors != d.num_tensors:
            return original(self, cache_key, cache, batch_index, size, **kw)
        rest = [
            s.read(t, index, d.slice_bytes, s.slice_bytes - d.slice_bytes)
            for t in range(s.num_tensors)
        ]
        original(self, cache_key, cache, batch_index, d.slice_bytes)
        for t, chunk in enumerate(rest):
            d.write(t, batch_index, d.slice_bytes, chunk)
        return None

    return pull_cache


replace(CacheManager, "pull_cache", _spills)
