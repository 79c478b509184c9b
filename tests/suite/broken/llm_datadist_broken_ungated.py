"""Broken: on a line without legacy support, deallocate_cache is not gated: it checks its
argument as on a supported line and returns (the seed's table marks the method x there)."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import Cache, LLMException, LLMStatusCode

__conformance_adapter__ = ADAPTER
VIOLATES = {"products.unsupported_fails_cleanly"}
PRODUCT = "atlas-training"


def _ungated(original: Any) -> Any:
    @functools.wraps(original)
    def deallocate_cache(self: Any, cache: Any) -> Any:
        if self._legacy_engine is not None:
            return original(self, cache)
        if not isinstance(cache, Cache):
            raise TypeError("cache must be a Cache")
        if cache.is_blocks_cache:
            raise LLMException(
                "cache can not be blocks cache", status_code=LLMStatusCode.LLM_PARAM_INVALID
            )
        return None  # another engine's cache: absent, a no-op, as on a supported line

    return deallocate_cache


wrap_cache_manager("deallocate_cache", _ungated)
