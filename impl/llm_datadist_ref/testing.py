"""Hooks for tests and conformance adapters: fault injection, the emulated product line, and a
view of the pools and registry. Not part of the vendor API.

    from llm_datadist_ref import testing
    with testing.delay("copy_blocks", 50):   # every copy_blocks in this process sleeps 50 ms
        ...                                  # so one with sync_kv_timeout < 50 raises LLM_TIMEOUT
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from . import _core
from ._datadist import LLMDataDist
from ._products import DEFAULT_PRODUCT, PRODUCT_ENV, PRODUCT_LINES, PRODUCT_OPTION, ProductLine
from ._types import Placement

__all__ = [
    "DEFAULT_PRODUCT",
    "OPERATIONS",
    "PRODUCT_ENV",
    "PRODUCT_LINES",
    "PRODUCT_OPTION",
    "PoolUsage",
    "ProductLine",
    "bound_key_count",
    "delay",
    "live_cache_ids",
    "pool_usage",
    "product_of",
    "staging_bytes",
]

OPERATIONS: tuple[str, ...] = tuple(_core.operation_names())
"""The operation names `delay` accepts: the CacheManager method names."""

_delay_lock = threading.Lock()


def _lock_for_the_child() -> None:
    global _delay_lock
    _delay_lock = threading.Lock()  # a parent thread may have held it across fork()


os.register_at_fork(after_in_child=_lock_for_the_child)


@contextmanager
def delay(operation_name: str, ms: int) -> Iterator[None]:
    """Makes every call of CacheManager.<operation_name> in this process sleep `ms` milliseconds
    before it checks its sync_kv_timeout deadline (and so before it changes anything), for as long
    as the context lasts. Nests; restores the previous delay on exit. Costs nothing when unused.
    """
    if operation_name not in OPERATIONS:
        raise ValueError(f"unknown operation {operation_name!r}; one of {', '.join(OPERATIONS)}")
    if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms < 2**31:
        raise ValueError("ms must be an int in [0, 2**31)")
    with _delay_lock:
        previous = _core.operation_delay(operation_name)
        _core.set_operation_delay(operation_name, ms)
    try:
        yield
    finally:
        with _delay_lock:
            _core.set_operation_delay(operation_name, previous)


def product_of(datadist: LLMDataDist) -> str:
    """The id of the product line an initialized LLMDataDist emulates (e.g. "atlas-a3")."""
    product = datadist._product
    if product is None:
        raise RuntimeError("llm datadist is not initialized")
    return product.id


class PoolUsage(NamedTuple):
    page_size: int
    capacity_pages: int
    used_pages: int
    live_allocations: int
    free_runs: int
    trimmed_bytes: int = 0
    """Freed pool bytes handed back to the OS so far (see impl/README.md, "Memory")."""


def pool_usage(datadist: LLMDataDist, placement: Placement) -> PoolUsage | None:
    """Usage of the DEVICE or HOST pool, None without that pool. After finalize(), what was left
    in use once every cache was released (0 pages unless a copy was still in flight)."""
    engine = datadist._engine
    if engine is None:
        raise RuntimeError("llm datadist was never initialized")
    usage = engine.usage(int(placement))
    return None if usage is None else PoolUsage(**usage)


def staging_bytes(datadist: LLMDataDist) -> int:
    """Bytes of swap staging memory the engine has mapped now, outside both pools."""
    engine = datadist._engine
    return 0 if engine is None else engine.staging_bytes


def live_cache_ids(datadist: LLMDataDist) -> list[int]:
    """Ids of the caches the engine still holds (by cache_id or by a key reference)."""
    engine = datadist._engine
    return [] if engine is None else engine.cache_ids()


def bound_key_count(datadist: LLMDataDist) -> int:
    """Number of CacheKeys currently bound (placeholders never are)."""
    engine = datadist._engine
    return 0 if engine is None else engine.key_count()
