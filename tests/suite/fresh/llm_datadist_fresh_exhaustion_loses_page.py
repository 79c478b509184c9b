"""Fresh: an allocation that fails on a full pool loses the last page of the largest free range,
so after failures and frees the whole pool can no longer be allocated at once."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt._pool import MemoryPool, PoolExhausted

__conformance_adapter__ = ADAPTER
RULE = "allocator integrity: after any allocations and frees every page is usable again"
CAUGHT_BY = {"allocate_cache.pool.capacity", "mem_pool_cfg.memory_size.bytes"}


def _loses(original: Any) -> Any:
    def allocate(self: Any, nbytes: int) -> int:
        try:
            offset: int = original(self, nbytes)
            return offset
        except PoolExhausted:
            if self._free:
                i = max(range(len(self._free)), key=lambda j: self._free[j][1] - self._free[j][0])
                start, end = self._free[i]
                if end - start > self.page_size:
                    self._free[i] = (start, end - self.page_size)
            raise

    return allocate


replace(MemoryPool, "allocate", _loses)
