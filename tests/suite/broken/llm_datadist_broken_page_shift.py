"""Broken: mem_pool_cfg accepts page_shift 31 (the seed's range is [10, 31))."""

import json
from typing import Any

from _breaking import ADAPTER

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import LLMConfig

__conformance_adapter__ = ADAPTER
VIOLATES = {"mem_pool_cfg.page_shift.range"}

_original = LLMConfig.mem_pool_cfg.fset


def _set_device(self: Any, value: Any) -> None:
    try:
        fields = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        fields = None
    if isinstance(fields, dict) and fields.get("page_shift") == 31:
        self._mem_pool_cfg = value  # off by one: 31 slips through
        return
    _original(self, value)


LLMConfig.mem_pool_cfg = property(LLMConfig.mem_pool_cfg.fget, _set_device)  # type: ignore[method-assign]
