"""Fresh: copy_cache checks offset and size against the source's slice only; where the
destination's slice is smaller it copies what fits there and returns."""

from typing import Any

from _fresh import ADAPTER, before_copy_cache
from llm_datadist_alt import *  # noqa: F403

__conformance_adapter__ = ADAPTER
RULE = "copy_cache raises when offset and size reach past the destination's slice"
CAUGHT_BY = {"copy_cache.bounds"}


def _source_bounds_only(
    self: Any, d_cache: Any, s_cache: Any, dst_batch: int, src_batch: int, offset: int, size: int
) -> bool:
    d, s = self._live_view(d_cache, "dst"), self._live_view(s_cache, "src")
    inside = 0 <= dst_batch < d.batch and 0 <= src_batch < s.batch
    fits_source = offset >= 0 and size > 0 and offset + size <= s.slice_bytes
    if not (inside and fits_source and d.slice_bytes < offset + size):
        return False
    fits = max(0, d.slice_bytes - offset)
    for t in range(min(d.num_tensors, s.num_tensors)):
        d.write(t, dst_batch, offset, s.read(t, src_batch, offset, fits))
    return True


before_copy_cache(_source_bounds_only)
