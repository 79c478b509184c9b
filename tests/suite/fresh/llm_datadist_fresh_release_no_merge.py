"""Fresh: releasing a region does not merge it with the free range that follows it, so the
pool fragments: after some allocate/free orders the whole pool no longer fits at once."""

import bisect
from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt._pool import MemoryPool

__conformance_adapter__ = ADAPTER
RULE = "allocator integrity: after any allocations and frees every page is usable again"
CAUGHT_BY = {
    "allocate_cache.pool.capacity",
    "allocate_cache.keys.count_within_batch",
    "allocate_cache.raises.key_already_bound",
}


def _no_forward_merge(original: Any) -> Any:
    def release(self: Any, offset: int, nbytes: int) -> None:
        end = min(offset + self._round(nbytes), self.memory_size)
        i = bisect.bisect_left(self._free, (offset, end))
        if i > 0 and self._free[i - 1][1] == offset:
            offset = self._free[i - 1][0]
            i -= 1
            del self._free[i]
        self._free.insert(i, (offset, end))

    return release


replace(MemoryPool, "release", _no_forward_merge)
