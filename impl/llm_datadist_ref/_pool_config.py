"""The memory-pool configuration strings of LLMConfig.mem_pool_cfg / host_mem_pool_cfg."""

from __future__ import annotations

import json
from typing import NamedTuple

from ._validate import type_name

__all__ = [
    "DEFAULT_PAGE_SHIFT",
    "HOST_POOL_MAX_BYTES",
    "PAGE_SHIFT_RANGE",
    "PoolConfig",
    "parse_pool_config",
]

DEFAULT_PAGE_SHIFT = 16
PAGE_SHIFT_RANGE = range(10, 31)
HOST_POOL_MAX_BYTES = 20 * 2**30
"""The document caps the host pool at "20G"; read as 20 GiB (the stricter reading would be 20e9)."""

_MAX_PAGES = 2**32 - 1


class PoolConfig(NamedTuple):
    memory_size: int
    page_shift: int

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift


def parse_pool_config(name: str, text: object, *, host: bool) -> PoolConfig | None:
    """The pool described by `text`, or None for "" (no pool).

    Raises TypeError when `text` is not a str, and ValueError when it is not a JSON object with an
    int `memory_size` > 0 and an optional int `page_shift` in [10, 31) (default 16), or when a host
    pool exceeds 20 GiB.
    """
    if not isinstance(text, str):
        raise TypeError(f"{name} only support ['str'], but got {type_name(text)}.")
    if text == "":
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{name} must be a JSON object with memory_size and page_shift")
    if "memory_size" not in config:
        raise ValueError(f"{name} requires memory_size")
    memory_size = config["memory_size"]
    if type(memory_size) is not int:
        raise ValueError(f"{name}: memory_size must be an int, got {type_name(memory_size)}")
    if memory_size <= 0:
        raise ValueError(f"{name}: memory_size must be greater than 0, got {memory_size}")
    page_shift = config.get("page_shift", DEFAULT_PAGE_SHIFT)
    if type(page_shift) is not int:
        raise ValueError(f"{name}: page_shift must be an int, got {type_name(page_shift)}")
    if page_shift not in PAGE_SHIFT_RANGE:
        raise ValueError(f"{name}: page_shift {page_shift} out of range [10, 31)")
    if (memory_size >> page_shift) >= _MAX_PAGES:
        raise ValueError(f"{name}: memory_size {memory_size} exceeds the addressable page count")
    if host and memory_size > HOST_POOL_MAX_BYTES:
        raise ValueError(
            f"{name}: the host memory pool is limited to 20 GiB, got {memory_size} bytes"
        )
    return PoolConfig(memory_size, page_shift)
