"""LLMDataDist: engine lifecycle, and links to engines of this process or of other processes."""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import _core
from ._cache_manager import CacheManager
from ._cluster import LLMClusterInfo, int_to_ip
from ._comm import check_link_arguments, rank_addresses
from ._links import LinkTable
from ._one_engine import one_engine_per_process
from ._options import EngineSettings, read_engine_options
from ._remote import Transport, resolve_transport
from ._remote.link import RemoteLink
from ._remote.listener import Listener
from ._status import LLMStatusCode, error_from_core, raise_if_false, raise_status
from ._types import LLMRole, RegisterMemStatus
from ._validate import check_int32, check_isinstance, check_uint64, type_name

if TYPE_CHECKING:
    from ._products import ProductLine

__all__ = ["LLMDataDist"]

_core.set_error_factory(error_from_core)
_LINK_TIMEOUT_MS = 3000  # link(): per listener, as link_clusters' default

# Live (initialized) instances of this process, for link_clusters to find its peers in.
_directory: weakref.WeakSet[LLMDataDist] = weakref.WeakSet()
_directory_lock = threading.Lock()


def _locks_for_the_child() -> None:
    """After fork(): another thread of the parent may have held these; the child has none. The
    links to other processes stay the parent's: the child links again to use them."""
    global _directory_lock
    _directory_lock = threading.Lock()
    for datadist in list(_directory):
        datadist._lock = threading.RLock()
        datadist._links.abandon_after_fork()


os.register_at_fork(after_in_child=_locks_for_the_child)


class LLMDataDist:
    """One PROMPT or DECODER cluster. Unlike the vendor's, several may live in one process (unless
    one-engine mode is on, see `_one_engine`). With
    llm.listenIpInfo it listens there for links from other processes and hosts; link_clusters
    links to an engine of this process when one listens at the address, else to that listener.
    """

    def __init__(self, role: LLMRole, cluster_id: int) -> None:
        check_isinstance("role", role, LLMRole)
        self._role = role
        self._cluster_id = check_uint64("cluster_id", cluster_id)
        self._initialized = False
        self._engine: _core.Engine | None = None
        self._settings: EngineSettings | None = None
        self._cache_manager: CacheManager | None = None
        self._links = LinkTable(
            self, lambda cluster, addresses: _find_peer(self, cluster, addresses)
        )
        #: The linked cluster's engine or link, None without a live link (the transfers' hot
        #: path: one call, and their checked path says why there is none).
        self._peer_if_linked = self._links.find
        self._listener: Listener | None = None
        self._lock = threading.RLock()

    @property
    def cluster_id(self) -> int:
        return self._cluster_id

    @property
    def role(self) -> LLMRole:
        return self._role

    def init(self, options: dict[str, str]) -> None:
        """Creates the engine: pools from llm.MemPoolConfig / llm.HostMemPoolConfig, timeout from
        llm.SyncKvCacheWaitTime (default 1000 ms), product line from "llm_datadist_ref.product" or
        $LLM_DATADIST_REF_PRODUCT (default atlas-a3). A second call does nothing.
        """
        with self._lock:
            if self._initialized:
                return
            check_isinstance("options", options, dict)
            for key, value in options.items():
                if not isinstance(key, str) or not isinstance(value, str):
                    raise TypeError(
                        f"options only support str keys and values, got {type_name(key)}: {type_name(value)}"
                    )
            settings = read_engine_options(options)
            if one_engine_per_process(options):
                _refuse_a_second_engine(self)
            self._links.transport = resolve_transport(options)
            self._links.options = dict(options)
            listening = (
                settings.listen_address is not None
                and self._links.transport != Transport.IN_PROCESS
            )
            engine = _core.Engine(
                settings.sync_kv_timeout_ms,
                tuple(settings.device_pool) if settings.device_pool else None,
                tuple(settings.host_pool) if settings.host_pool else None,
                shareable=listening,
            )
            if listening:
                assert settings.listen_address is not None
                ip, port = settings.listen_address
                try:
                    offer = self._links.offered_endpoint(engine, int_to_ip(ip))
                    self._listener = Listener(engine, self._cluster_id, int_to_ip(ip), port, offer)
                except BaseException:
                    self._links.close()
                    engine.finalize()
                    raise
            self._engine = engine
            self._settings = settings
            if settings.cache_manager_mode:
                self._cache_manager = CacheManager(self, self._engine, settings)
            self._initialized = True
        with _directory_lock:
            _directory.add(self)

    def finalize(self) -> None:
        """Releases every cache and both pools. Idempotent."""
        with _directory_lock:
            _directory.discard(self)
        with self._lock:
            if not self._initialized:
                return
            self._initialized = False
            if self._cache_manager is not None:
                self._cache_manager._on_finalize()
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            self._links.close()
            if self._engine is not None:
                self._engine.finalize()

    @property
    def cache_manager(self) -> CacheManager:
        self._check_is_inited()
        if self._cache_manager is None:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID,
                "cache_manager is not supported when llm.EnableCacheManager is not configured.",
            )
        return self._cache_manager

    def link_clusters(
        self, clusters: list[LLMClusterInfo] | tuple[LLMClusterInfo, ...], timeout: int = 3000
    ) -> tuple[LLMStatusCode, list[LLMStatusCode]]:
        """Links to each cluster: an initialized LLMDataDist of this process whose cluster_id is the
        cluster's remote_cluster_id and, when the cluster lists remote IPs, whose listen_ip_info is
        one of them; else the listener at the first of those IPs that answers within `timeout` ms
        (another process or host). Returns (overall status, per-cluster status) without raising on
        a failed link.
        """
        self._check_is_inited()
        check_int32("timeout", timeout)
        raise_if_false(timeout > 0, "Param timeout should be greater than 0.")
        check_isinstance("clusters", clusters, (list, tuple), LLMClusterInfo)
        results: list[LLMStatusCode] = []
        for cluster in clusters:
            remote_id = check_uint64("remote_cluster_id", cluster.remote_cluster_id)
            results.append(self._links.link(remote_id, cluster.remote_ip_info_list, timeout))
        failed = any(status != LLMStatusCode.LLM_SUCCESS for status in results)
        return (LLMStatusCode.LLM_LINK_FAILED if failed else LLMStatusCode.LLM_SUCCESS), results

    def unlink_clusters(
        self,
        clusters: list[LLMClusterInfo] | tuple[LLMClusterInfo, ...],
        timeout: int = 3000,
        force: bool = False,
    ) -> tuple[LLMStatusCode, list[LLMStatusCode]]:
        """Removes links (both directions). A cluster that is not linked gets LLM_NOT_YET_LINK."""
        self._check_is_inited()
        check_int32("timeout", timeout)
        raise_if_false(timeout > 0, "Param timeout should be greater than 0.")
        check_isinstance("clusters", clusters, (list, tuple), LLMClusterInfo)
        check_isinstance("force", force, bool)
        results: list[LLMStatusCode] = []
        for cluster in clusters:
            remote_id = check_uint64("remote_cluster_id", cluster.remote_cluster_id)
            results.append(self._links.unlink(remote_id))
        failed = any(status != LLMStatusCode.LLM_SUCCESS for status in results)
        return (LLMStatusCode.LLM_UNLINK_FAILED if failed else LLMStatusCode.LLM_SUCCESS), results

    def _check_is_inited(self) -> None:
        if not self._initialized:
            raise RuntimeError("llm datadist is not initialized")

    def link(self, comm_name: str, cluster_rank_info: dict[int, int], rank_table: str) -> int:
        """Links this cluster with the others of `cluster_rank_info` ({cluster_id: rank}), reading
        each rank's listener from `rank_table` (see `_comm`); returns the comm_id for unlink and
        query_register_mem_status. LLMException(LLM_LINK_FAILED) when a listed listener cannot be
        linked (the links this call made are undone)."""
        self._check_is_inited()
        self._require_cache_manager_mode("link")
        check_link_arguments(comm_name, cluster_rank_info, rank_table)
        raise_if_false(
            self._cluster_id in cluster_rank_info,
            f"cluster_rank_info does not list this cluster ({self._cluster_id})",
        )
        addresses = rank_addresses(rank_table)
        linked: list[int] = []
        for remote_id, rank in cluster_rank_info.items():
            if remote_id == self._cluster_id or rank not in addresses:
                continue
            status = self._links.link(remote_id, [addresses[rank]], _LINK_TIMEOUT_MS)
            if status != LLMStatusCode.LLM_SUCCESS:
                for done in linked:
                    self._links.unlink(done)
                raise_status(
                    LLMStatusCode.LLM_LINK_FAILED,
                    f"[link] {comm_name}: cannot link cluster {remote_id} (rank {rank})",
                )
            linked.append(remote_id)
        return self._links.add_comm(linked)

    def unlink(self, comm_id: int) -> None:
        """Undoes `link`. An unknown comm_id: LLMException(PARAM_INVALID)."""
        self._check_is_inited()
        self._require_cache_manager_mode("unlink")
        check_uint64("comm_id", comm_id)
        linked = self._links.comm(comm_id, pop=True)
        if linked is None:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID, f"[unlink] comm_id {comm_id} is not linked"
            )
        for remote_id in linked:
            self._links.unlink(remote_id)

    def query_register_mem_status(self, comm_id: int) -> RegisterMemStatus:
        """OK once `link` returned (it registers the pools before it returns) while every link of
        the comm is alive; FAILED when one of them has been closed."""
        self._check_is_inited()
        self._require_cache_manager_mode("query_register_mem_status")
        check_uint64("comm_id", comm_id)
        linked = self._links.comm(comm_id)
        if linked is None:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID,
                f"[query_register_mem_status] comm_id {comm_id} is not linked",
            )
        alive = all(self._links.is_linked(remote_id) for remote_id in linked)
        return RegisterMemStatus.OK if alive else RegisterMemStatus.FAILED

    def _require_cache_manager_mode(self, api: str) -> None:
        if self._cache_manager is None:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID,
                f"{api} is not supported when llm.EnableCacheManager is not configured.",
            )

    def _linked_peer(self, cluster_id: int) -> _core.Engine | RemoteLink:
        """The engine of the linked cluster `cluster_id` (this process), or the link to it (another
        process); LLMException(NOT_YET_LINK) without a live link."""
        return self._links.peer(cluster_id)

    @property
    def _product(self) -> ProductLine | None:
        return self._settings.product if self._settings is not None else None

    @property
    def _listen_address(self) -> tuple[int, int] | None:
        return self._settings.listen_address if self._settings is not None else None


def _find_peer(
    origin: LLMDataDist, cluster_id: int, addresses: Sequence[tuple[int, int]]
) -> LLMDataDist | None:
    with _directory_lock:
        candidates = [
            dd
            for dd in _directory
            if dd is not origin and dd._initialized and dd.cluster_id == cluster_id
        ]
    if addresses:
        wanted = set(addresses)
        candidates = [dd for dd in candidates if dd._listen_address in wanted]
    return candidates[0] if len(candidates) == 1 else None


def _refuse_a_second_engine(origin: LLMDataDist) -> None:
    """LLMException(LLM_FAILED) while another engine of this process is initialized (the vendor's
    rule, in one-engine mode)."""
    with _directory_lock:
        live = [dd.cluster_id for dd in _directory if dd is not origin and dd._initialized]
    if live:
        raise_status(
            LLMStatusCode.LLM_FAILED,
            f"Cannot init multiple LLMDataDists: cluster {live[0]} is initialized in this process "
            "(one engine per process)",
        )
