"""Fresh: the host pool's 20G cap is applied to mem_pool_cfg (the device pool) as well."""

from typing import Any

import llm_datadist_alt._config as config
import llm_datadist_alt._datadist as datadist
from _fresh import ADAPTER
from llm_datadist_alt import *  # noqa: F403

__conformance_adapter__ = ADAPTER
RULE = "Host内存池最大不超过20G。(a host rule: mem_pool_cfg has no cap)"
CAUGHT_BY = {"mem_pool_cfg.memory_size.positive", "mem_pool_cfg.memory_size.bytes"}

_original = config.parse_pool_config


def parse_pool_config(name: str, text: Any, *, host: bool) -> Any:
    return _original(name, text, host=True)


config.parse_pool_config = parse_pool_config
datadist.parse_pool_config = parse_pool_config
