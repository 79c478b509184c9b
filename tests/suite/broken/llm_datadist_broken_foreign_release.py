"""Broken: deallocate_cache of another CacheManager's cache clears that cache's tensor_addrs
(the seed: a cache that does not exist here is a no-op, and a no-op changes nothing)."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"deallocate_cache.absent_noop"}
# Caught only with two engines in one process: the 'never allocated' half releases a cache of another engine in the same process.
NEEDS_TWO_ENGINES = True


def _clears_foreign(original: Any) -> Any:
    @functools.wraps(original)
    def deallocate_cache(self: Any, cache: Any) -> Any:
        result = original(self, cache)
        if getattr(cache, "_cache_manager", self) is not self:
            cache._tensor_addrs = []
        return result

    return deallocate_cache


wrap_cache_manager("deallocate_cache", _clears_foreign)
