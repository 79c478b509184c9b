"""Fresh: copy_blocks copies in chunks of 32 (source, destination) pairs and forgets the last,
partial chunk when a map has more than 32 pairs."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Cache, CacheManager

__conformance_adapter__ = ADAPTER
RULE = "copy_block_info: 需要拷贝的block信息 (every pair is copied, however long the map)"
CAUGHT_BY = {"copy_blocks.copies"}
CHUNK = 32


def _drops_tail(original: Any) -> Any:
    def copy_blocks(self: Any, cache: Any, copy_block_info: Any) -> Any:
        if not isinstance(cache, Cache) or not isinstance(copy_block_info, dict):
            return original(self, cache, copy_block_info)
        pairs = [
            d for v in copy_block_info.values() if isinstance(v, list) for d in v
        ]  # destinations, in the order they are copied
        if len(pairs) <= CHUNK or len(pairs) % CHUNK == 0:
            return original(self, cache, copy_block_info)
        view = self._live_view(cache, "cache")
        tail = pairs[len(pairs) - len(pairs) % CHUNK :]
        kept = [
            [view.read(t, b, 0, view.slice_bytes) for t in range(view.num_tensors)]
            if isinstance(b, int) and 0 <= b < view.batch
            else []
            for b in tail
        ]
        original(self, cache, copy_block_info)  # validates, then copies every pair...
        for block, old in zip(tail, kept, strict=True):  # ...as if the tail had never been copied
            for t, data in enumerate(old):
                view.write(t, block, 0, data)
        return None

    return copy_blocks


replace(CacheManager, "copy_blocks", _drops_tail)
