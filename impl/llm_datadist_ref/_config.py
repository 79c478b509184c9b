"""LLMConfig: typed setters for the engine options, and generate_options() with the vendor keys."""

from __future__ import annotations

import json
from typing import Any

from ._cluster import ip_to_int
from ._pool_config import parse_pool_config
from ._status import raise_if_false
from ._validate import check_dict, check_int32, check_isinstance, check_uint32

__all__ = ["LLMConfig", "LlmConfig"]

_UINT32_MAX = 2**32 - 1


class LLMConfig:
    """Engine configuration. Attributes can be given as keyword arguments of the constructor.

    `mem_pool_cfg` and `host_mem_pool_cfg` are validated when assigned (TypeError for a non-str,
    ValueError for a bad JSON object), as the document specifies; the vendor checks them at init.
    """

    def __init__(self, **attributes: Any) -> None:
        self._options: dict[str, str] = {}
        self._listen_ip_info = ""
        self._device_id: int | list[int] | tuple[int, ...] | None = None
        self._sync_kv_timeout: int | str | None = None
        self._deploy_res_path = ""
        self._ge_options: dict[str, str] = {}
        self._enable_switch_role = False
        self._link_total_time: int | None = None
        self._link_retry_count: int | None = None
        self._cluster_info = ""
        self._output_max_size: int | str = ""
        self._mem_utilization = 0.95
        self._buf_pool_cfg = ""
        self._mem_pool_cfg = ""
        self._host_mem_pool_cfg = ""
        self._enable_cache_manager: bool | None = None
        self._enable_remote_cache_accessible: bool | None = None
        self._rdma_traffic_class: int | None = None
        self._rdma_service_level: int | None = None
        self._local_comm_res: str | None = None
        self._transfer_backend: str | None = None
        for name, value in attributes.items():
            if not isinstance(getattr(type(self), name, None), property) or name == "options":
                raise TypeError(f"LLMConfig has no configurable attribute {name!r}")
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        """Only the documented attributes can be set: a misspelt one (`mem_pool_cfgg`) raises
        AttributeError naming the known ones instead of leaving the pool quietly unconfigured.
        (The vendor's LlmConfig is a plain class and accepts any name; see impl/README.md.)"""
        if name.startswith("_") or isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
            return
        known = ", ".join(_settable_attributes(type(self)))
        raise AttributeError(f"LLMConfig has no attribute {name!r}; the attributes are: {known}")

    def generate_options(self) -> dict[str, str]:
        """The engine options for LLMDataDist.init (the same dict object on every call)."""
        return self.gen_options()

    def gen_options(self) -> dict[str, str]:
        options = self._options
        options.update(self._ge_options)
        if self._device_id is not None:
            if isinstance(self._device_id, int):
                options["ge.exec.deviceId"] = str(self._device_id)
                options["ge.session_device_id"] = str(self._device_id)
            else:
                options["ge.session_device_id"] = str(self._device_id[0])
                options["ge.exec.deviceId"] = ";".join(str(dev) for dev in self._device_id)
        if self._sync_kv_timeout is not None:
            options["llm.SyncKvCacheWaitTime"] = str(self._sync_kv_timeout)
        if self._deploy_res_path:
            options["llm.deployResPath"] = self._deploy_res_path
        if self._buf_pool_cfg:
            options["llm.BufPoolCfg"] = self._buf_pool_cfg
        if self._mem_pool_cfg:
            options["llm.MemPoolConfig"] = self._mem_pool_cfg
        if self._host_mem_pool_cfg:
            options["llm.HostMemPoolConfig"] = self._host_mem_pool_cfg
        if self._enable_cache_manager is not None:
            options["llm.EnableCacheManager"] = "1" if self._enable_cache_manager else "0"
        if self._enable_remote_cache_accessible is not None:
            options["llm.EnableRemoteCacheAccessible"] = (
                "1" if self._enable_remote_cache_accessible else "0"
            )
        if self._listen_ip_info:
            options["llm.listenIpInfo"] = self._listen_ip_info
        if self._link_total_time is not None:
            options["llm.LinkTotalTime"] = str(self._link_total_time)
        if self._link_retry_count is not None:
            options["llm.LinkRetryCount"] = str(self._link_retry_count)
        if self._rdma_traffic_class is not None:
            options["llm.RdmaTrafficClass"] = str(self._rdma_traffic_class)
        if self._rdma_service_level is not None:
            options["llm.RdmaServiceLevel"] = str(self._rdma_service_level)
        if self._local_comm_res is not None:
            options["llm.LocalCommRes"] = self._local_comm_res
        if self._transfer_backend is not None:
            options["llm.TransferBackend"] = self._transfer_backend
        if self._cluster_info:
            options["llm.ClusterInfo"] = self._cluster_info
        if self._output_max_size:
            options["llm.OutputMaxSize"] = str(self._output_max_size)
        if self._enable_switch_role:
            options["llm.EnableSwitchRole"] = "1"
        options["llm.MemoryUtilization"] = str(self._mem_utilization)
        return options

    @property
    def options(self) -> dict[str, str]:
        return self._options

    @property
    def ge_options(self) -> dict[str, str]:
        return self._ge_options

    @ge_options.setter
    def ge_options(self, ge_options: dict[str, str]) -> None:
        check_isinstance("ge_options", ge_options, dict)
        check_dict("ge_options", ge_options, str, str)
        self._ge_options = ge_options

    @property
    def device_id(self) -> int | list[int] | tuple[int, ...] | None:
        return self._device_id

    @device_id.setter
    def device_id(self, device_id: int | list[int] | tuple[int, ...]) -> None:
        check_isinstance("device_id", device_id, (list, tuple, int))
        ids = list(device_id) if isinstance(device_id, (list, tuple)) else [device_id]
        if isinstance(device_id, (list, tuple)):
            check_isinstance("device_id", device_id, (list, tuple), int)
            raise_if_false(len(ids) > 0, "device_id list can not be empty.")
        for dev_id in ids:
            raise_if_false(dev_id >= 0, "device_id should be greater than or equal to zero.")
            check_int32("device_id", dev_id)
        self._device_id = device_id

    @property
    def sync_kv_timeout(self) -> int | str | None:
        """Milliseconds a CacheManager operation may take (option llm.SyncKvCacheWaitTime).

        None until set; the engine then uses 1000 ms.
        """
        return self._sync_kv_timeout

    @sync_kv_timeout.setter
    def sync_kv_timeout(self, sync_kv_timeout: int | str) -> None:
        check_isinstance("sync_kv_timeout", sync_kv_timeout, (int, str))
        if isinstance(sync_kv_timeout, str):
            raise_if_false(sync_kv_timeout.isdigit(), "sync_kv_timeout must be digit.")
        raise_if_false(int(sync_kv_timeout) > 0, "sync_kv_timeout should be greater than zero.")
        check_int32("sync_kv_timeout", int(sync_kv_timeout))
        self._sync_kv_timeout = sync_kv_timeout

    @property
    def listen_ip_info(self) -> str:
        return self._listen_ip_info

    @listen_ip_info.setter
    def listen_ip_info(self, listen_ip_info: str) -> None:
        check_isinstance("listen_ip_info", listen_ip_info, str)
        self._listen_ip_info = listen_ip_info

    @property
    def deploy_res_path(self) -> str:
        return self._deploy_res_path

    @deploy_res_path.setter
    def deploy_res_path(self, deploy_res_path: str) -> None:
        check_isinstance("deploy_res_path", deploy_res_path, str)
        self._deploy_res_path = deploy_res_path

    @property
    def buf_pool_cfg(self) -> str:
        return self._buf_pool_cfg

    @buf_pool_cfg.setter
    def buf_pool_cfg(self, buf_pool_cfg: str) -> None:
        check_isinstance("buf_pool_cfg", buf_pool_cfg, str)
        self._buf_pool_cfg = buf_pool_cfg

    @property
    def mem_pool_cfg(self) -> str:
        """DEVICE pool: '{"memory_size": N, "page_shift": P}' ("" = no pool)."""
        return self._mem_pool_cfg

    @mem_pool_cfg.setter
    def mem_pool_cfg(self, mem_pool_cfg: str) -> None:
        parse_pool_config("mem_pool_cfg", mem_pool_cfg, host=False)
        self._mem_pool_cfg = mem_pool_cfg

    @property
    def host_mem_pool_cfg(self) -> str:
        """HOST pool: '{"memory_size": N, "page_shift": P}' ("" = no pool), at most 20 GiB."""
        return self._host_mem_pool_cfg

    @host_mem_pool_cfg.setter
    def host_mem_pool_cfg(self, host_mem_pool_cfg: str) -> None:
        parse_pool_config("host_mem_pool_cfg", host_mem_pool_cfg, host=True)
        self._host_mem_pool_cfg = host_mem_pool_cfg

    @property
    def output_max_size(self) -> int | str:
        return self._output_max_size

    @output_max_size.setter
    def output_max_size(self, output_max_size: int) -> None:
        check_isinstance("output_max_size", output_max_size, int)
        self._output_max_size = output_max_size

    @property
    def mem_utilization(self) -> float:
        return self._mem_utilization

    @mem_utilization.setter
    def mem_utilization(self, mem_utilization: float) -> None:
        check_isinstance("mem_utilization", mem_utilization, float)
        raise_if_false(
            0.0 <= mem_utilization <= 1.0,
            f"mem_utilization must be in range [0,1], current:{mem_utilization}",
        )
        self._mem_utilization = mem_utilization

    @property
    def cluster_info(self) -> str:
        return self._cluster_info

    @cluster_info.setter
    def cluster_info(self, cluster_info: str) -> None:
        check_isinstance("cluster_info", cluster_info, str)
        try:
            info = json.loads(cluster_info)
        except json.JSONDecodeError as error:
            raise ValueError(f"cluster_info is not valid JSON: {error}") from None
        if isinstance(info, dict):
            for ip_info in info.get("listen_ip_info", []):
                ip_info["ip"] = ip_to_int(ip_info["ip"])
        self._cluster_info = json.dumps(info)

    @property
    def enable_switch_role(self) -> bool:
        return self._enable_switch_role

    @enable_switch_role.setter
    def enable_switch_role(self, enable_switch_role: bool) -> None:
        check_isinstance("enable_switch_role", enable_switch_role, bool)
        self._enable_switch_role = enable_switch_role

    @property
    def link_total_time(self) -> int:
        return 0 if self._link_total_time is None else self._link_total_time

    @link_total_time.setter
    def link_total_time(self, link_total_time: int) -> None:
        check_isinstance("link_total_time", link_total_time, int)
        raise_if_false(
            0 <= link_total_time <= _UINT32_MAX,
            f"link_total_time should be an integer between [0, 2^32-1], given value is {link_total_time}",
        )
        self._link_total_time = link_total_time

    @property
    def link_retry_count(self) -> int:
        return 1 if self._link_retry_count is None else self._link_retry_count

    @link_retry_count.setter
    def link_retry_count(self, link_retry_count: int) -> None:
        check_isinstance("link_retry_count", link_retry_count, int)
        raise_if_false(
            1 <= link_retry_count <= 100,
            f"link_retry_count should be an integer between [1, 100], given value is {link_retry_count}",
        )
        self._link_retry_count = link_retry_count

    @property
    def enable_cache_manager(self) -> bool:
        """True selects the CacheManager mode (option llm.EnableCacheManager = "1")."""
        return bool(self._enable_cache_manager)

    @enable_cache_manager.setter
    def enable_cache_manager(self, enable_cache_manager: bool) -> None:
        check_isinstance("enable_cache_manager", enable_cache_manager, bool)
        self._enable_cache_manager = enable_cache_manager

    @property
    def enable_remote_cache_accessible(self) -> bool:
        return bool(self._enable_remote_cache_accessible)

    @enable_remote_cache_accessible.setter
    def enable_remote_cache_accessible(self, enable_remote_cache_accessible: bool) -> None:
        check_isinstance("enable_remote_cache_accessible", enable_remote_cache_accessible, bool)
        self._enable_remote_cache_accessible = enable_remote_cache_accessible

    @property
    def rdma_traffic_class(self) -> int | None:
        return self._rdma_traffic_class

    @rdma_traffic_class.setter
    def rdma_traffic_class(self, rdma_traffic_class: int) -> None:
        self._rdma_traffic_class = check_uint32("rdma_traffic_class", rdma_traffic_class)

    @property
    def rdma_service_level(self) -> int | None:
        return self._rdma_service_level

    @rdma_service_level.setter
    def rdma_service_level(self, rdma_service_level: int) -> None:
        self._rdma_service_level = check_uint32("rdma_service_level", rdma_service_level)

    @property
    def local_comm_res(self) -> str:
        return "" if self._local_comm_res is None else self._local_comm_res

    @local_comm_res.setter
    def local_comm_res(self, local_comm_res: str) -> None:
        check_isinstance("local_comm_res", local_comm_res, str)
        self._local_comm_res = local_comm_res

    @property
    def transfer_backend(self) -> str:
        return "" if self._transfer_backend is None else self._transfer_backend

    @transfer_backend.setter
    def transfer_backend(self, transfer_backend: str) -> None:
        check_isinstance("transfer_backend", transfer_backend, str)
        self._transfer_backend = transfer_backend


LlmConfig = LLMConfig


def _settable_attributes(cls: type) -> list[str]:
    """The public attributes of a config class that can be assigned (properties with a setter)."""
    return sorted(
        name
        for name in dir(cls)
        if isinstance(prop := getattr(cls, name), property)
        and prop.fset is not None
        and not name.startswith("_")
    )
