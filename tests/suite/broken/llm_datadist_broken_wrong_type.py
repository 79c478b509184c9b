"""Broken: allocate_cache raises RuntimeError (not TypeError/ValueError) for a cache_keys of the wrong type."""

from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"allocate_cache.raises.wrong_type"}


def _runtime_error(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        if not isinstance(cache_keys, list | tuple):
            raise RuntimeError(f"bad cache_keys {cache_keys!r}")
        return original(self, cache_desc, cache_keys)

    return allocate_cache


wrap_cache_manager("allocate_cache", _runtime_error)
