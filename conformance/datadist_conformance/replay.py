"""Helpers that replay snippets import: the target's adapter and deterministic byte patterns.

A snippet in a report starts with::

    from datadist_conformance import replay
    m, adapter = replay.target("llm_datadist_ref", adapter=None)

and fills caches with ``replay.fill(adapter, cache, tensor_bytes, num_tensors, seed)``,
exactly as the suite did.
"""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

from .adapter import Adapter
from .target import load_target

__all__ = ["fill", "pattern", "target"]


def target(impl: str, adapter: str | None = None) -> tuple[ModuleType, Adapter]:
    """The target module and its adapter, chosen as the suite chose them."""
    loaded = load_target(impl, adapter)
    return loaded.module, loaded.adapter


def pattern(seed: int, size: int) -> bytes:
    """``size`` pseudo-random bytes, the same for the same seed on every platform."""
    return random.Random(seed).randbytes(size)


def fill(
    adapter: Adapter, cache: Any, tensor_bytes: int, num_tensors: int, seed: int
) -> list[bytes]:
    """Write a distinct pattern into every tensor of ``cache``; returns what was written."""
    written = []
    for tensor in range(num_tensors):
        data = pattern(seed * 1009 + tensor, tensor_bytes)
        adapter.write(cache, tensor, 0, data)
        written.append(data)
    return written
