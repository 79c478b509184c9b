"""Broken: without page_shift, pools use pages of 1 << 17 bytes (the seed's default is 16)."""

from _breaking import ADAPTER

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import _pool_config

__conformance_adapter__ = ADAPTER
VIOLATES = {"mem_pool_cfg.page_shift.default", "host_mem_pool_cfg.page_shift.default"}

_pool_config.DEFAULT_PAGE_SHIFT = 17
