"""LLMConfig, the option keys it produces, and memory-pool configuration parsing.

Pool configurations are validated when assigned (the document puts TypeError /
ValueError on the setter); "" means "no pool".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ._types import parse_ip
from ._validate import INT32_MAX, UINT16_MAX, check_bool, check_int, check_str, type_name

__all__ = [
    "HOST_POOL_MAX",
    "OPT_DEVICE_ID",
    "OPT_ENABLE_CACHE_MANAGER",
    "OPT_ENABLE_REMOTE_CACHE_ACCESSIBLE",
    "OPT_HOST_MEM_POOL",
    "OPT_LISTEN_IP_INFO",
    "OPT_MEM_POOL",
    "OPT_SESSION_DEVICE_ID",
    "OPT_SYNC_KV_TIMEOUT",
    "LLMConfig",
    "LlmConfig",
    "PoolConfig",
    "parse_listen_ip_info",
    "parse_pool_config",
]

OPT_DEVICE_ID = "ge.exec.deviceId"
OPT_SESSION_DEVICE_ID = "ge.session_device_id"
OPT_SYNC_KV_TIMEOUT = "llm.SyncKvCacheWaitTime"
OPT_ENABLE_CACHE_MANAGER = "llm.EnableCacheManager"
OPT_ENABLE_REMOTE_CACHE_ACCESSIBLE = "llm.EnableRemoteCacheAccessible"
OPT_LISTEN_IP_INFO = "llm.listenIpInfo"
OPT_MEM_POOL = "llm.MemPoolConfig"
OPT_HOST_MEM_POOL = "llm.HostMemPoolConfig"

#: "Host内存池最大不超过20G", read as 20 * 2**30 bytes (the larger reading).
HOST_POOL_MAX = 20 * 2**30
PAGE_SHIFT_DEFAULT = 16
PAGE_SHIFT_RANGE = range(10, 31)


@dataclass(frozen=True)
class PoolConfig:
    memory_size: int
    page_shift: int = PAGE_SHIFT_DEFAULT

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift


def _json_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be a JSON integer, got {json.dumps(value)}")
    return value


def parse_pool_config(name: str, text: Any, *, host: bool) -> PoolConfig | None:
    """The pool a mem_pool_cfg / host_mem_pool_cfg value describes; None for "" (no pool)."""
    check_str(name, text)
    if text == "":
        return None
    try:
        fields = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise ValueError(f"{name} must be a JSON object, got {type_name(fields)}")
    if "memory_size" not in fields:
        raise ValueError(f"{name} needs memory_size")
    memory_size = _json_int(f"{name}.memory_size", fields["memory_size"])
    if memory_size <= 0:
        raise ValueError(f"{name}.memory_size must be > 0, got {memory_size}")
    if host and memory_size > HOST_POOL_MAX:
        raise ValueError(
            f"{name}.memory_size must be at most 20G ({HOST_POOL_MAX} bytes), got {memory_size}"
        )
    page_shift = PAGE_SHIFT_DEFAULT
    if "page_shift" in fields:
        page_shift = _json_int(f"{name}.page_shift", fields["page_shift"])
        if page_shift not in PAGE_SHIFT_RANGE:
            raise ValueError(f"{name}.page_shift must lie in [10, 31), got {page_shift}")
    return PoolConfig(memory_size, page_shift)


def parse_listen_ip_info(text: str) -> tuple[int, int]:
    """ "ip:port" as (ip as int, port); ValueError when malformed."""
    ip, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"listen_ip_info must be 'ip:port', got {text!r}")
    return parse_ip("listen_ip_info", ip), check_int("port", int(port), 0, UINT16_MAX)


class LLMConfig:
    """Engine configuration; :meth:`generate_options` gives the options for LLMDataDist.init."""

    __slots__ = (
        "_device_id",
        "_enable_cache_manager",
        "_enable_remote_cache_accessible",
        "_host_mem_pool_cfg",
        "_listen_ip_info",
        "_mem_pool_cfg",
        "_sync_kv_timeout",
    )

    def __init__(self) -> None:
        self._device_id: list[int] | None = None
        self._sync_kv_timeout: int | None = None
        self._enable_cache_manager = False
        self._enable_remote_cache_accessible = False
        self._listen_ip_info = ""
        self._mem_pool_cfg = ""
        self._host_mem_pool_cfg = ""

    @property
    def device_id(self) -> int | list[int] | None:
        if self._device_id is None or len(self._device_id) > 1:
            return self._device_id
        return self._device_id[0]

    @device_id.setter
    def device_id(self, value: int | list[int] | tuple[int, ...]) -> None:
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError("device_id must not be empty")
            self._device_id = [
                check_int(f"device_id[{i}]", v, 0, INT32_MAX) for i, v in enumerate(value)
            ]
        else:
            self._device_id = [check_int("device_id", value, 0, INT32_MAX)]

    @property
    def sync_kv_timeout(self) -> int | None:
        """Milliseconds a CacheManager call may take before it raises LLMException(LLM_TIMEOUT)."""
        return self._sync_kv_timeout

    @sync_kv_timeout.setter
    def sync_kv_timeout(self, value: int) -> None:
        self._sync_kv_timeout = check_int("sync_kv_timeout", value, 1, INT32_MAX)

    @property
    def enable_cache_manager(self) -> bool:
        return self._enable_cache_manager

    @enable_cache_manager.setter
    def enable_cache_manager(self, value: bool) -> None:
        self._enable_cache_manager = check_bool("enable_cache_manager", value)

    @property
    def enable_remote_cache_accessible(self) -> bool:
        return self._enable_remote_cache_accessible

    @enable_remote_cache_accessible.setter
    def enable_remote_cache_accessible(self, value: bool) -> None:
        self._enable_remote_cache_accessible = check_bool("enable_remote_cache_accessible", value)

    @property
    def listen_ip_info(self) -> str:
        return self._listen_ip_info

    @listen_ip_info.setter
    def listen_ip_info(self, value: str) -> None:
        check_str("listen_ip_info", value)
        if value:
            parse_listen_ip_info(value)
        self._listen_ip_info = value

    @property
    def mem_pool_cfg(self) -> str:
        return self._mem_pool_cfg

    @mem_pool_cfg.setter
    def mem_pool_cfg(self, value: str) -> None:
        parse_pool_config("mem_pool_cfg", value, host=False)
        self._mem_pool_cfg = value

    @property
    def host_mem_pool_cfg(self) -> str:
        return self._host_mem_pool_cfg

    @host_mem_pool_cfg.setter
    def host_mem_pool_cfg(self, value: str) -> None:
        parse_pool_config("host_mem_pool_cfg", value, host=True)
        self._host_mem_pool_cfg = value

    def generate_options(self) -> dict[str, str]:
        """A new dict of option key -> str value, holding the attributes that were set."""
        options: dict[str, str] = {}
        if self._device_id is not None:
            options[OPT_DEVICE_ID] = ";".join(str(d) for d in self._device_id)
            options[OPT_SESSION_DEVICE_ID] = str(self._device_id[0])
        if self._sync_kv_timeout is not None:
            options[OPT_SYNC_KV_TIMEOUT] = str(self._sync_kv_timeout)
        options[OPT_ENABLE_CACHE_MANAGER] = "1" if self._enable_cache_manager else "0"
        if self._enable_remote_cache_accessible:
            options[OPT_ENABLE_REMOTE_CACHE_ACCESSIBLE] = "1"
        if self._listen_ip_info:
            options[OPT_LISTEN_IP_INFO] = self._listen_ip_info
        if self._mem_pool_cfg:
            options[OPT_MEM_POOL] = self._mem_pool_cfg
        if self._host_mem_pool_cfg:
            options[OPT_HOST_MEM_POOL] = self._host_mem_pool_cfg
        return options

    gen_options = generate_options


LlmConfig = LLMConfig
