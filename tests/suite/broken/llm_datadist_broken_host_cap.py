"""Broken: host_mem_pool_cfg accepts pools of any size (the seed caps the host pool at 20G), at
assignment and when the engine starts."""

from _breaking import ADAPTER

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import _pool_config

__conformance_adapter__ = ADAPTER
VIOLATES = {"host_mem_pool_cfg.max_20g"}

_pool_config.HOST_POOL_MAX_BYTES = 1 << 62  # no cap
