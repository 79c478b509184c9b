"""Fresh: when mem_pool_cfg is set too, the host pool takes its page_shift from mem_pool_cfg
instead of host_mem_pool_cfg (a value of one option leaks into the other pool)."""

from typing import Any

from _fresh import ADAPTER
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import Placement
from llm_datadist_alt._datadist import LLMDataDist
from llm_datadist_alt._pool import MemoryPool

__conformance_adapter__ = ADAPTER
RULE = "page_shift: page_size的位移量 (host_mem_pool_cfg's own, whatever mem_pool_cfg says)"
CAUGHT_BY = {"host_mem_pool_cfg.page_alignment", "host_mem_pool_cfg.page_shift.default"}

_original = LLMDataDist._pools


def _pools(options: dict[str, str]) -> Any:
    pools = _original(options)
    device, host = pools.get(Placement.DEVICE), pools.get(Placement.HOST)
    if device is not None and host is not None and device.page_size != host.page_size:
        pools[Placement.HOST] = MemoryPool(host.memory_size, device.page_size.bit_length() - 1)
    return pools


LLMDataDist._pools = staticmethod(_pools)  # type: ignore[method-assign]
