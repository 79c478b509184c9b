"""Fresh: copy_cache between caches with different num_tensors copies the tensors both have,
and only then raises."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "dst与src的CacheDesc需要一致 (mismatched caches raise) + a failed call changes nothing"
CAUGHT_BY = {"copy_cache.desc_must_match"}


def _writes_first(original: Any) -> Any:
    def copy_cache(self: Any, dst: Any, src: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(dst, Cache) and isinstance(src, Cache) and not args and not kwargs:
            d, s = self._live_view(dst, "dst"), self._live_view(src, "src")
            if d.num_tensors != s.num_tensors and d.slice_bytes == s.slice_bytes:
                for t in range(min(d.num_tensors, s.num_tensors)):
                    d.write(t, 0, 0, s.read(t, 0, 0, s.slice_bytes))
        return original(self, dst, src, *args, **kwargs)  # raises: the descs differ

    return copy_cache


replace(CacheManager, "copy_cache", _writes_first)
