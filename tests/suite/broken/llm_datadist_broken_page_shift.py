"""Broken: mem_pool_cfg accepts page_shift 31 (the seed's range is [10, 31)), at assignment and
when the engine starts (which quietly uses 30)."""

import json
from typing import Any

from _breaking import ADAPTER

from llm_datadist_ref import *  # noqa: F403
from llm_datadist_ref import _config, _options, _pool_config

__conformance_adapter__ = ADAPTER
VIOLATES = {"mem_pool_cfg.page_shift.range"}

_original = _pool_config.parse_pool_config


def _lenient(name: str, text: object, *, host: bool) -> Any:
    try:
        fields = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        fields = None
    if not host and isinstance(fields, dict) and fields.get("page_shift") == 31:
        text = json.dumps({**fields, "page_shift": 30})  # off by one: 31 slips through
    return _original(name, text, host=host)


_config.parse_pool_config = _lenient
_options.parse_pool_config = _lenient
