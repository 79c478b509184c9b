"""Broken: when cache_keys repeats a key, the FIRST occurrence takes effect (the seed says the last)."""

from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403 - the surface under test
from llm_datadist_ref import CacheKey

__conformance_adapter__ = ADAPTER
VIOLATES = {"allocate_cache.keys.duplicate_last_wins"}


def _first_wins(original: Any) -> Any:
    def allocate_cache(self: Any, cache_desc: Any, cache_keys: Any = ()) -> Any:
        if isinstance(cache_keys, list | tuple) and all(
            isinstance(k, CacheKey) for k in cache_keys
        ):
            seen: set[tuple[int, int, int]] = set()
            kept = []
            for key in cache_keys:
                ident = (key.req_id, key.model_id, key.prefix_id)
                kept.append(CacheKey(key.cluster_id, 2**64 - 1) if ident in seen else key)
                seen.add(ident)
            cache_keys = kept
        return original(self, cache_desc, cache_keys)

    return allocate_cache


wrap_cache_manager("allocate_cache", _first_wins)
