"""Fresh: swap_blocks works in batches of 8 pairs and forgets the last, partial batch when a
map has more than 8 pairs."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheManager

__conformance_adapter__ = ADAPTER
RULE = "src_to_dst: dict里面内容代表（原始block index，目标block index）(every pair is swapped)"
CAUGHT_BY = {"swap_blocks.swap_in", "swap_blocks.swap_out"}


def _drops_tail(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        if not isinstance(src_to_dst, dict) or len(src_to_dst) <= 8 or len(src_to_dst) % 8 == 0:
            return original(self, src_cache, dst_cache, src_to_dst)
        tail = list(src_to_dst.values())[len(src_to_dst) - len(src_to_dst) % 8 :]
        view = self._live_view(dst_cache, "dst_cache")
        kept = [
            [view.read(t, b, 0, view.slice_bytes) for t in range(view.num_tensors)]
            if isinstance(b, int) and 0 <= b < view.batch
            else None
            for b in tail
        ]
        original(self, src_cache, dst_cache, src_to_dst)  # validates, then copies every pair...
        for block, old in zip(tail, kept, strict=True):  # ...as if the tail had never been copied
            for t, data in enumerate(old or []):
                view.write(t, block, 0, data)
        return None

    return swap_blocks


replace(CacheManager, "swap_blocks", _drops_tail)
