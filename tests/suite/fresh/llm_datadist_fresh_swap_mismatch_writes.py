"""Fresh: swap_blocks between caches whose block sizes differ moves the bytes both blocks have
(the smaller block's worth) of every pair, and only then raises."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "swap_blocks of mismatched caches raises + a failed call changes nothing"
CAUGHT_BY = {"swap_blocks.raises.mismatch"}


def _writes_first(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        if (
            isinstance(src_cache, Cache)
            and isinstance(dst_cache, Cache)
            and isinstance(src_to_dst, dict)
        ):
            s, d = self._live_view(src_cache, "src_cache"), self._live_view(dst_cache, "dst_cache")
            if s.num_tensors == d.num_tensors and s.slice_bytes != d.slice_bytes:
                common = min(s.slice_bytes, d.slice_bytes)
                for src, dst in src_to_dst.items():
                    if (
                        isinstance(src, int)
                        and isinstance(dst, int)
                        and 0 <= src < s.batch
                        and 0 <= dst < d.batch
                    ):
                        for t in range(s.num_tensors):
                            d.write(t, dst, 0, s.read(t, src, 0, common))
        return original(self, src_cache, dst_cache, src_to_dst)  # raises: block sizes differ

    return swap_blocks


replace(CacheManager, "swap_blocks", _writes_first)
