"""Broken: deallocate_cache on a cache that is already released raises (the seed: a no-op)."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import LLMException, LLMStatusCode

__conformance_adapter__ = ADAPTER
VIOLATES = {"deallocate_cache.absent_noop"}


def _refuse_second_release(original: Any) -> Any:
    @functools.wraps(original)
    def deallocate_cache(self: Any, cache: Any) -> Any:
        if getattr(cache, "_valid", True) is False:  # the reference marks a released Cache
            raise LLMException(
                "cache already released", status_code=LLMStatusCode.LLM_KV_CACHE_NOT_EXIST
            )
        return original(self, cache)

    return deallocate_cache


wrap_cache_manager("deallocate_cache", _refuse_second_release)
