"""Fresh: the pool rounds a cache's bytes DOWN to a page multiple (at least one page), so a
cache of 1.5 pages takes one page and overlaps the next cache."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt._pool import MemoryPool

__conformance_adapter__ = ADAPTER
RULE = "分配内存时会对齐到page_size的倍数 (a cache takes the pages its size needs, rounded up)"
CAUGHT_BY = {
    "allocate_cache.pool.capacity",
    "mem_pool_cfg.page_alignment",
    "host_mem_pool_cfg.page_alignment",
    "mem_pool_cfg.page_shift.default",
    "host_mem_pool_cfg.page_shift.default",
}


def _floor(original: Any) -> Any:
    def _round(self: Any, nbytes: int) -> int:
        page: int = self.page_size
        return max(nbytes // page, 1) * page

    return _round


replace(MemoryPool, "_round", _floor)
