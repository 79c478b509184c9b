"""Broken: a large allocation the pool cannot hold raises RuntimeError, not the documented
LLMException (the seed: "raises LLMException" when the pool is full).

Only refused caches of exactly three 4 KiB pages are affected, the size the lifecycle templates
use to ask "does a second cache fit?": a suite that read any exception as "it does not fit"
would certify this target.
"""

import functools
import math
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import LLMException, LLMStatusCode

__conformance_adapter__ = ADAPTER
VIOLATES = {"allocate_cache.pool.capacity"}
THREE_PAGES = 3 << 12


def _wrong_refusal(original: Any) -> Any:
    @functools.wraps(original)
    def allocate(self: Any, cache_desc: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, cache_desc, *args, **kwargs)
        except LLMException as exc:
            full = exc.status_code == LLMStatusCode.LLM_OUT_OF_MEMORY
            if full and math.prod(cache_desc.shape) == THREE_PAGES:
                raise RuntimeError(f"allocation failed: {exc}") from None
            raise

    return allocate


wrap_cache_manager("allocate_cache", _wrong_refusal)
