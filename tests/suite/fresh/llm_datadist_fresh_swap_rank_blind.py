"""Fresh: swap_blocks sizes a block as shape[1] elements, right for [blocks, n] caches only:
for rank 3 and 4 it moves just the first row of each block."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheManager
from llm_datadist_alt._layout import View

__conformance_adapter__ = ADAPTER
RULE = "swap_blocks: 对cpu_cache和npu_cache进行换入换出 (whole blocks, whatever the rank)"
CAUGHT_BY = {"swap_blocks.swap_in", "swap_blocks.swap_out"}


def _rank_blind(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        real = View.read

        def read(view: Any, tensor: int, index: int, offset: int, size: int) -> bytes:
            row = view.shape[1] * view.itemsize if len(view.shape) > 1 else size
            return real(view, tensor, index, offset, min(size, row))

        View.read = read  # type: ignore[assignment]
        try:
            return original(self, src_cache, dst_cache, src_to_dst)
        finally:
            View.read = real  # type: ignore[method-assign]

    return swap_blocks


replace(CacheManager, "swap_blocks", _rank_blind)
