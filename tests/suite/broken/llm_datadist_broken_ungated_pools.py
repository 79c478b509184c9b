"""Broken: on a line without legacy support, init refuses host_mem_pool_cfg, but allocate_cache is
not gated: an engine with mem_pool_cfg alone allocates from it there (the seed's table marks the
methods and both pool options x). A check that stopped at the refused engine with both pool
options would never call allocate_cache."""

import functools
from typing import Any

from _breaking import ADAPTER, ungated, wrap_cache_manager, wrap_method

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import LLMDataDist, LLMException, LLMStatusCode
from llm_datadist_ref._products import PRODUCT_OPTION

__conformance_adapter__ = ADAPTER
VIOLATES = {"products.unsupported_fails_cleanly"}
PRODUCT = "atlas-training"
_SUPPORTED = {"atlas-a3", "atlas-800i-a2"}


def _refuse_host_pool(original: Any) -> Any:
    @functools.wraps(original)
    def init(self: Any, options: Any) -> Any:
        unsupported = isinstance(options, dict) and options.get(PRODUCT_OPTION) not in _SUPPORTED
        if unsupported and "llm.HostMemPoolConfig" in options:
            raise LLMException(
                "host_mem_pool_cfg is not supported on this product line",
                status_code=LLMStatusCode.LLM_FEATURE_NOT_ENABLED,
            )
        return original(self, options)

    return init


wrap_method(LLMDataDist, "init", _refuse_host_pool)
wrap_cache_manager("allocate_cache", ungated)
