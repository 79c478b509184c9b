"""Fresh: copy_cache copies the part of the range that lies inside the slice, and only then
raises for the part that does not."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "a failed call changes nothing (copy_cache with offset and size reaching past the slice)"
CAUGHT_BY = {"copy_cache.bounds"}


def _copies_what_fits(original: Any) -> Any:
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
            span = min(d.slice_bytes, s.slice_bytes)
            fits = min(span, offset + size) - offset if size > 0 else 0
            inside = 0 <= dst_batch_index < d.batch and 0 <= src_batch_index < s.batch
            if inside and 0 <= offset < span and size > 0 and offset + size > span and fits > 0:
                for t in range(min(d.num_tensors, s.num_tensors)):
                    chunk = s.read(t, src_batch_index, offset, fits)
                    d.write(t, dst_batch_index, offset, chunk)
        return original(self, dst, src, dst_batch_index, src_batch_index, offset, size, req_id)

    return copy_cache


replace(CacheManager, "copy_cache", _copies_what_fits)
