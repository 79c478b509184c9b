"""Fresh: swap_blocks moves at most 64 pairs per call and silently ignores the rest."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "src_to_dst: dict里面内容代表（原始block index，目标block index）(every pair, however many)"
CAUGHT_BY = {"swap_blocks.swap_in", "swap_blocks.swap_out"}
LIMIT = 64


def _first_64(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        if not (
            isinstance(src_to_dst, dict)
            and len(src_to_dst) > LIMIT
            and isinstance(dst_cache, Cache)
        ):
            return original(self, src_cache, dst_cache, src_to_dst)
        view = self._live_view(dst_cache, "dst_cache")
        ignored = list(src_to_dst.values())[LIMIT:]
        kept = [
            [view.read(t, b, 0, view.slice_bytes) for t in range(view.num_tensors)]
            if isinstance(b, int) and 0 <= b < view.batch
            else []
            for b in ignored
        ]
        original(self, src_cache, dst_cache, src_to_dst)  # validates, then moves every pair...
        for block, old in zip(ignored, kept, strict=True):  # ...as if only 64 had moved
            for t, data in enumerate(old):
                view.write(t, block, 0, data)
        return None

    return swap_blocks


replace(CacheManager, "swap_blocks", _first_64)
