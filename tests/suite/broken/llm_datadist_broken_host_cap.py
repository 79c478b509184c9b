"""Broken: host_mem_pool_cfg accepts pools of any size (the seed caps the host pool at 20G)."""

from typing import Any

from _breaking import ADAPTER

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import LLMConfig
from llm_datadist_ref._pool_config import parse_pool_config

__conformance_adapter__ = ADAPTER
VIOLATES = {"host_mem_pool_cfg.max_20g"}


def _set_host(self: Any, value: Any) -> None:
    parse_pool_config("host_mem_pool_cfg", value, host=False)  # the device rules: no cap
    self._host_mem_pool_cfg = value


LLMConfig.host_mem_pool_cfg = property(LLMConfig.host_mem_pool_cfg.fget, _set_host)  # type: ignore[method-assign]
