"""Broken: on a line without legacy support, copy_cache is not gated, and takes caller-owned HOST
caches (Cache.create_cpu_cache) as plain memory: it checks its arguments as on a supported line
and returns, pretending to have copied (the seed's table marks the method x there)."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import Cache

__conformance_adapter__ = ADAPTER
VIOLATES = {"products.unsupported_fails_cleanly.cache_operations"}
PRODUCT = "atlas-inference"


def _ungated(original: Any) -> Any:
    @functools.wraps(original)
    def copy_cache(self: Any, dst: Any, src: Any, *args: Any, **kwargs: Any) -> Any:
        if self._legacy_engine is not None:
            return original(self, dst, src, *args, **kwargs)
        if not isinstance(dst, Cache) or not isinstance(src, Cache):
            raise TypeError("dst and src must be Cache")
        return None

    return copy_cache


wrap_cache_manager("copy_cache", _ungated)
