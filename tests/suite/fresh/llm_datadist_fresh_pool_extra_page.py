"""Fresh: a pool (device or host) whose memory_size is not a page multiple is rounded UP to whole pages,
so it hands out bytes beyond memory_size."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt._pool import MemoryPool

__conformance_adapter__ = ADAPTER
RULE = "memory_size: 当前内存池的大小 ... 单位为Byte (a pool holds exactly the bytes memory_size allows)"
CAUGHT_BY = {
    "allocate_cache.pool.capacity",
    "mem_pool_cfg.memory_size.bytes",
    "host_mem_pool_cfg.memory_size.bytes",
    "mem_pool_cfg.page_alignment",
    "host_mem_pool_cfg.page_alignment",
    "mem_pool_cfg.page_shift.default",
    "host_mem_pool_cfg.page_shift.default",
}


def _rounded_up(original: Any) -> Any:
    def __init__(self: Any, memory_size: int, page_shift: int) -> None:
        page = 1 << page_shift
        original(self, -(-memory_size // page) * page, page_shift)
        self.memory_size = memory_size

    return __init__


replace(MemoryPool, "__init__", _rounded_up)
