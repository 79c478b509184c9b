"""Fresh: copy_cache copies the part of the range that lies inside the slice, and only then
raises for the part that does not."""

from typing import Any

from _fresh import ADAPTER, before_copy_cache
from llm_datadist_alt import *  # noqa: F403

__conformance_adapter__ = ADAPTER
RULE = "a failed call changes nothing (copy_cache with offset and size reaching past the slice)"
CAUGHT_BY = {"copy_cache.bounds"}


def _copies_what_fits(
    self: Any, d_cache: Any, s_cache: Any, dst_batch: int, src_batch: int, offset: int, size: int
) -> bool:
    d, s = self._live_view(d_cache, "dst"), self._live_view(s_cache, "src")
    span = min(d.slice_bytes, s.slice_bytes)
    fits = min(span, offset + size) - offset if size > 0 else 0
    inside = 0 <= dst_batch < d.batch and 0 <= src_batch < s.batch
    if inside and 0 <= offset < span and size > 0 and offset + size > span and fits > 0:
        for t in range(min(d.num_tensors, s.num_tensors)):
            d.write(t, dst_batch, offset, s.read(t, src_batch, offset, fits))
    return False  # the original then raises for the part past the slice


before_copy_cache(_copies_what_fits)
