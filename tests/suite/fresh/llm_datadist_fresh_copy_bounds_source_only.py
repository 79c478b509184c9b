"""Fresh: copy_cache checks offset and size against the source's slice only; where the
destination's slice is smaller it copies what fits there and returns."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "copy_cache raises when offset and size reach past the destination's slice"
CAUGHT_BY = {"copy_cache.bounds"}


def _source_bounds_only(original: Any) -> Any:
    def copy_cache(
        self: Any,
        dst: Any,
        src: Any,
        dst_batch_index: Any = 0,
        src_batch_index: Any = 0,
        offset: Any = 0,
        size: Any = -1,
        req_id: Any = None,
    ) -> Any:
        args = (dst_batch_index, src_batch_index, offset, size)
        if isinstance(dst, Cache) and isinstance(src, Cache) and all(type(a) is int for a in args):
            d, s = self._live_view(dst, "dst"), self._live_view(src, "src")
            inside = 0 <= dst_batch_index < d.batch and 0 <= src_batch_index < s.batch
            fits_source = offset >= 0 and size > 0 and offset + size <= s.slice_bytes
            if inside and fits_source and d.slice_bytes < offset + size:
                fits = max(0, d.slice_bytes - offset)
                for t in range(min(d.num_tensors, s.num_tensors)):
                    d.write(t, dst_batch_index, offset, s.read(t, src_batch_index, offset, fits))
                return None
        return original(self, dst, src, dst_batch_index, src_batch_index, offset, size, req_id)

    return copy_cache


replace(CacheManager, "copy_cache", _source_bounds_only)
