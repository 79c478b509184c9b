"""Broken: deallocate_cache(None) raises RuntimeError (the seed: a wrong type raises TypeError or
ValueError; AttributeError is accepted for None, E-none-argument)."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"deallocate_cache.raises.wrong_type"}


def _runtime_error_for_none(original: Any) -> Any:
    @functools.wraps(original)
    def deallocate_cache(self: Any, cache: Any) -> Any:
        if cache is None:
            raise RuntimeError("no cache")
        return original(self, cache)

    return deallocate_cache


wrap_cache_manager("deallocate_cache", _runtime_error_for_none)
