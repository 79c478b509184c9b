"""Fresh: pull_cache clears the destination batch before it checks the size, so a pull rejected
for a size larger than the slice leaves zeros where the destination's bytes were."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "a failed call changes nothing (a rejected pull_cache leaves its destination as it was)"
CAUGHT_BY = {"allocate_cache.refs.key_released_by_pull"}


def _clears_first(original: Any) -> Any:
    def pull_cache(
        self: Any, cache_key: Any, cache: Any, batch_index: Any = 0, size: Any = -1, **kw: Any
    ) -> Any:
        if isinstance(cache, Cache) and type(batch_index) is int:
            view = self._live_view(cache, "cache")
            if 0 <= batch_index < view.batch:
                for t in range(view.num_tensors):
                    view.write(t, batch_index, 0, bytes(view.slice_bytes))
        return original(self, cache_key, cache, batch_index, size, **kw)

    return pull_cache


replace(CacheManager, "pull_cache", _clears_first)
