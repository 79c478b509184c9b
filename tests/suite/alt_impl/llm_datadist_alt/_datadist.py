"""LLMDataDist: engine lifecycle, product-line emulation, and in-process links between engines."""

from __future__ import annotations

from typing import Any

from ._cache_manager import LEGACY, STATE_LOCK, TRANSFER, CacheManager
from ._config import (
    OPT_ENABLE_CACHE_MANAGER,
    OPT_HOST_MEM_POOL,
    OPT_LISTEN_IP_INFO,
    OPT_MEM_POOL,
    OPT_SYNC_KV_TIMEOUT,
    parse_listen_ip_info,
    parse_pool_config,
)
from ._pool import MemoryPool
from ._status import LLMException, LLMStatusCode
from ._types import LLMClusterInfo, LLMRole, Placement
from ._validate import (
    check_bool,
    check_instance,
    check_int,
    check_sequence,
    check_uint64,
    type_name,
)

__all__ = ["DEFAULT_PRODUCT", "PRODUCTS", "PRODUCT_OPTION", "LLMDataDist"]

S = LLMStatusCode

#: Init option naming the product line to emulate.
PRODUCT_OPTION = "llm_datadist_alt.product"
DEFAULT_PRODUCT = "atlas-a3"
DEFAULT_SYNC_KV_TIMEOUT_MS = 1000

#: The seed's support table: product line -> the CacheManager feature sets it has.
_CACHE_MANAGER = frozenset({LEGACY, TRANSFER})
PRODUCTS: dict[str, frozenset[str]] = {
    "atlas-a3": _CACHE_MANAGER,
    "atlas-800i-a2": _CACHE_MANAGER,
    "atlas-a2-training": frozenset(),
    "atlas-200i-500-a2": frozenset(),
    "atlas-inference": frozenset(),
    "atlas-training": frozenset(),
}

#: PROMPT (or MIX) engines accepting links: (ip as int, port) -> engine.
_LISTENERS: dict[tuple[int, int], LLMDataDist] = {}


def _invalid(message: str) -> LLMException:
    return LLMException(message, status_code=S.LLM_PARAM_INVALID)


class LLMDataDist:
    """The engine of one cluster: ``LLMDataDist(role, cluster_id).init(options)``."""

    def __init__(self, role: LLMRole, cluster_id: int) -> None:
        self._role = check_instance("role", role, LLMRole)
        self._cluster_id = check_uint64("cluster_id", cluster_id)
        self._state = "new"  # new -> ready -> finalized
        self._cache_manager: CacheManager | None = None
        self._listen: tuple[int, int] | None = None
        self._links: dict[int, LLMDataDist] = {}

    @property
    def role(self) -> LLMRole:
        return self._role

    @property
    def cluster_id(self) -> int:
        return self._cluster_id

    def init(self, options: dict[str, str]) -> None:
        """Start the engine; a second call on a running engine does nothing."""
        if not isinstance(options, dict):
            raise TypeError(f"options must be a dict, got {type_name(options)}")
        for key, value in options.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"options must map str to str, got {key!r}: {value!r}")
        with STATE_LOCK:
            if self._state == "ready":
                return
            if self._state == "finalized":
                raise LLMException("the engine was finalized", status_code=S.LLM_ENGINE_FINALIZED)
            product = options.get(PRODUCT_OPTION, DEFAULT_PRODUCT)
            if product not in PRODUCTS:
                raise _invalid(f"unknown product line {product!r}; known: {sorted(PRODUCTS)}")
            timeout = options.get(OPT_SYNC_KV_TIMEOUT, str(DEFAULT_SYNC_KV_TIMEOUT_MS))
            if not timeout.isdigit() or int(timeout) <= 0:
                raise _invalid(f"{OPT_SYNC_KV_TIMEOUT} must be a positive integer, got {timeout!r}")
            listen = None
            if options.get(OPT_LISTEN_IP_INFO):
                try:
                    listen = parse_listen_ip_info(options[OPT_LISTEN_IP_INFO])
                except (TypeError, ValueError) as exc:
                    raise _invalid(str(exc)) from exc
                if listen in _LISTENERS:
                    raise LLMException(
                        f"{options[OPT_LISTEN_IP_INFO]} is already in use", status_code=S.LLM_FAILED
                    )
            manager = None
            if options.get(OPT_ENABLE_CACHE_MANAGER) == "1":
                features = PRODUCTS[product]
                pools = self._pools(options) if LEGACY in features else {}
                manager = CacheManager(self, pools, features, int(timeout))
            self._cache_manager = manager
            self._listen = listen
            if listen is not None:
                _LISTENERS[listen] = self
            self._state = "ready"

    @staticmethod
    def _pools(options: dict[str, str]) -> dict[Placement, MemoryPool]:
        pools: dict[Placement, MemoryPool] = {}
        for placement, key in (
            (Placement.DEVICE, OPT_MEM_POOL),
            (Placement.HOST, OPT_HOST_MEM_POOL),
        ):
            try:
                config = parse_pool_config(
                    key, options.get(key, ""), host=placement == Placement.HOST
                )
            except (TypeError, ValueError) as exc:
                raise _invalid(str(exc)) from exc
            if config is None:
                continue
            try:
                pools[placement] = MemoryPool(config.memory_size, config.page_shift)
            except (OSError, OverflowError, MemoryError, ValueError) as exc:
                raise LLMException(
                    f"cannot map a pool of {config.memory_size} bytes: {exc}",
                    status_code=S.LLM_OUT_OF_MEMORY,
                ) from exc
        return pools

    def finalize(self) -> None:
        """Stop the engine: its CacheManager refuses further calls; idempotent."""
        with STATE_LOCK:
            if self._state == "ready":
                if self._cache_manager is not None:
                    self._cache_manager._finalize()
                if self._listen is not None and _LISTENERS.get(self._listen) is self:
                    del _LISTENERS[self._listen]
                self._links.clear()
            self._state = "finalized"

    @property
    def cache_manager(self) -> CacheManager:
        if self._state == "new" or (self._state == "finalized" and self._cache_manager is None):
            raise LLMException("llm datadist is not initialized", status_code=S.LLM_FAILED)
        if self._cache_manager is None:
            raise LLMException(
                "the engine was not initialised with enable_cache_manager",
                status_code=S.LLM_FEATURE_NOT_ENABLED,
            )
        return self._cache_manager

    # -- links --------------------------------------------------------------------------------

    @staticmethod
    def _check_clusters(clusters: Any, timeout: Any) -> list[LLMClusterInfo]:
        infos = check_sequence(
            "clusters", clusters, lambda n, v: check_instance(n, v, LLMClusterInfo)
        )
        check_int("timeout", timeout, 1)
        return infos

    def link_clusters(
        self, clusters: list[LLMClusterInfo] | tuple[LLMClusterInfo, ...], timeout: int = 3000
    ) -> tuple[LLMStatusCode, list[LLMStatusCode]]:
        """Link to PROMPT engines listening in this process; returns (overall, per-cluster) codes."""
        infos = self._check_clusters(clusters, timeout)
        with STATE_LOCK:
            if self._state != "ready":
                raise LLMException("llm datadist is not initialized", status_code=S.LLM_FAILED)
            codes = [self._link_one(info) for info in infos]
        return (
            S.LLM_SUCCESS if all(c == S.LLM_SUCCESS for c in codes) else S.LLM_LINK_FAILED
        ), codes

    def _link_one(self, info: LLMClusterInfo) -> LLMStatusCode:
        if info.remote_cluster_id in self._links:
            return S.LLM_ALREADY_LINK
        for entry in info.remote_ip_info_list:
            ip, port = entry["ip"], entry["port"]
            remote = _LISTENERS.get((ip, port)) or _LISTENERS.get((0, port))
            if (
                remote is not None
                and remote is not self
                and remote._cluster_id == info.remote_cluster_id
            ):
                self._links[info.remote_cluster_id] = remote
                return S.LLM_SUCCESS
        return S.LLM_LINK_FAILED

    def unlink_clusters(
        self,
        clusters: list[LLMClusterInfo] | tuple[LLMClusterInfo, ...],
        timeout: int = 3000,
        force: bool = False,
    ) -> tuple[LLMStatusCode, list[LLMStatusCode]]:
        infos = self._check_clusters(clusters, timeout)
        check_bool("force", force)
        with STATE_LOCK:
            codes = [
                S.LLM_SUCCESS
                if self._links.pop(info.remote_cluster_id, None) is not None
                else S.LLM_NOT_YET_LINK
                for info in infos
            ]
        return (
            S.LLM_SUCCESS if all(c == S.LLM_SUCCESS for c in codes) else S.LLM_UNLINK_FAILED
        ), codes

    def _linked_manager(self, cluster_id: int) -> CacheManager:
        remote = self._links.get(cluster_id)
        if remote is None or remote._state != "ready" or remote._cache_manager is None:
            raise LLMException(
                f"cluster {cluster_id} is not linked", status_code=S.LLM_NOT_YET_LINK
            )
        return remote._cache_manager
