"""Fresh: when host_mem_pool_cfg is set too, the device pool is sized by host_mem_pool_cfg's
memory_size (a value of one option leaks into the other pool)."""

from typing import Any

from _fresh import ADAPTER
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Placement
from llm_datadist_alt._datadist import LLMDataDist
from llm_datadist_alt._pool import MemoryPool

__conformance_adapter__ = ADAPTER
RULE = "memory_size: 当前内存池的大小 (mem_pool_cfg's own, whatever host_mem_pool_cfg says)"
CAUGHT_BY = {"mem_pool_cfg.memory_size.bytes", "mem_pool_cfg.page_alignment"}

_original = LLMDataDist._pools


def _pools(options: dict[str, str]) -> Any:
    pools = _original(options)
    device, host = pools.get(Placement.DEVICE), pools.get(Placement.HOST)
    if device is not None and host is not None and device.memory_size != host.memory_size:
        pools[Placement.DEVICE] = MemoryPool(host.memory_size, device.page_size.bit_length() - 1)
    return pools


LLMDataDist._pools = staticmethod(_pools)  # type: ignore[method-assign]
