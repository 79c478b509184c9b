"""Broken: mem_pool_cfg accepts any value at assignment and nothing validates it later: a value
that does not parse is dropped, so LLMDataDist.init starts without a device pool instead of
rejecting it. The document allows the rejection at assignment or at init
(E-pool-config-validation-time), not never."""

from typing import Any

from _breaking import ADAPTER

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import LLMConfig
from llm_datadist_ref._pool_config import parse_pool_config

__conformance_adapter__ = ADAPTER
VIOLATES = {
    "mem_pool_cfg.type.string",
    "mem_pool_cfg.json",
    "mem_pool_cfg.memory_size.required",
    "mem_pool_cfg.memory_size.int",
    "mem_pool_cfg.memory_size.positive",
    "mem_pool_cfg.page_shift.int",
    "mem_pool_cfg.page_shift.range",
}

_original = LLMConfig.mem_pool_cfg


def _set_unvalidated(self: Any, value: Any) -> None:
    try:
        parse_pool_config("mem_pool_cfg", value, host=False)
    except (TypeError, ValueError):
        return  # accepted, and dropped: init never sees it
    self._mem_pool_cfg = value


# mypy types a property read on its class as the getter; at run time it is the property.
LLMConfig.mem_pool_cfg = _original.setter(_set_unvalidated)  # type: ignore[attr-defined, method-assign]
