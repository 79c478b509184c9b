"""Broken: copy_cache swallows its sync_kv_timeout error and returns normally."""

import functools
from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import LLMException, LLMStatusCode

__conformance_adapter__ = ADAPTER
VIOLATES = {"copy_cache.raises.timeout"}


def _swallow_timeout(original: Any) -> Any:
    @functools.wraps(original)  # keeps the documented signature visible to inspect
    def copy_cache(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except LLMException as exc:
            if exc.status_code != LLMStatusCode.LLM_TIMEOUT:
                raise
            return None

    return copy_cache


wrap_cache_manager("copy_cache", _swallow_timeout)
