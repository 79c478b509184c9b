"""Fresh: the host pool ignores page_shift and always uses 64 KiB pages (the device pool's rule
is right)."""

from typing import Any

import llm_datadist_alt._datadist as datadist
from _fresh import ADAPTER
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt._config import PoolConfig

__conformance_adapter__ = ADAPTER
RULE = "page_shift: page_size的位移量，用于计算page_size。(host_mem_pool_cfg)"
CAUGHT_BY = {"host_mem_pool_cfg.page_alignment", "host_mem_pool_cfg.memory_size.bytes"}


def _host_ignores(original: Any) -> Any:
    def parse_pool_config(name: str, text: Any, *, host: bool) -> Any:
        config = original(name, text, host=host)
        return PoolConfig(config.memory_size, 16) if host and config is not None else config

    return parse_pool_config


datadist.parse_pool_config = _host_ignores(datadist.parse_pool_config)
