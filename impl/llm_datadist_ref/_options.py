"""Reading the engine options given to LLMDataDist.init."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ._cluster import parse_listen_ip_info
from ._pool_config import PoolConfig, parse_pool_config
from ._products import ProductLine, resolve_product
from ._status import LLMStatusCode, raise_status

__all__ = ["DEFAULT_SYNC_KV_TIMEOUT_MS", "EngineSettings", "read_engine_options"]

DEFAULT_SYNC_KV_TIMEOUT_MS = 1000
_INT32_MAX = 2**31 - 1


@dataclass(frozen=True)
class EngineSettings:
    product: ProductLine
    cache_manager_mode: bool
    device_pool: PoolConfig | None
    host_pool: PoolConfig | None
    sync_kv_timeout_ms: int
    listen_address: tuple[int, int] | None
    remote_cache_accessible: bool


def _pool(options: Mapping[str, str], key: str, *, host: bool) -> PoolConfig | None:
    try:
        return parse_pool_config(key, options.get(key, ""), host=host)
    except (TypeError, ValueError) as error:
        raise_status(LLMStatusCode.LLM_PARAM_INVALID, str(error))


def _timeout_ms(options: Mapping[str, str]) -> int:
    text = options.get("llm.SyncKvCacheWaitTime")
    if text is None:
        return DEFAULT_SYNC_KV_TIMEOUT_MS
    if not text.isdigit() or not 0 < int(text) <= _INT32_MAX:
        raise_status(
            LLMStatusCode.LLM_PARAM_INVALID,
            f"llm.SyncKvCacheWaitTime {text!r} must be a positive int32",
        )
    return int(text)


def read_engine_options(options: Mapping[str, str]) -> EngineSettings:
    """The settings of an engine; LLMException(PARAM_INVALID) for an option it cannot use."""
    listen = options.get("llm.listenIpInfo")
    return EngineSettings(
        product=resolve_product(options),
        cache_manager_mode=options.get("llm.EnableCacheManager") == "1"
        or "llm.LocalCommRes" in options,
        device_pool=_pool(options, "llm.MemPoolConfig", host=False),
        host_pool=_pool(options, "llm.HostMemPoolConfig", host=True),
        sync_kv_timeout_ms=_timeout_ms(options),
        listen_address=parse_listen_ip_info(listen) if listen else None,
        remote_cache_accessible=options.get("llm.EnableRemoteCacheAccessible") == "1",
    )
