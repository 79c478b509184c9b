"""The links of one LLMDataDist: to engines of this process (weak references, kept both ways) and
to listeners of other processes or hosts (`_remote.link.RemoteLink`), with the engine's Mooncake
endpoint (created on first need) and the comms made by `LLMDataDist.link`."""

from __future__ import annotations

import itertools
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from . import _core
from ._cluster import int_to_ip
from ._remote import Transport
from ._remote.link import RemoteLink
from ._remote.mooncake import MooncakeEndpoint, mooncake_available
from ._remote.mooncake import protocol as mooncake_protocol
from ._status import LLMException, LLMStatusCode, raise_status

if TYPE_CHECKING:
    from ._datadist import LLMDataDist

__all__ = ["LinkTable"]

_log = logging.getLogger("llm_datadist_ref")
_comm_ids = itertools.count(1)  # comm_ids of `link`, unique in this process

PeerFinder = Callable[[int, Sequence[tuple[int, int]]], "LLMDataDist | None"]

# What a child of fork() inherited and must neither use nor close (see abandon_after_fork).
_inherited: list[object] = []


class LinkTable:
    """Thread-safe. `find_local(cluster_id, addresses)` finds an engine of this process."""

    def __init__(self, owner: LLMDataDist, find_local: PeerFinder) -> None:
        self._owner = weakref.ref(owner)
        self._cluster_id = owner.cluster_id
        self._find_local = find_local
        self._local: dict[int, weakref.ref[LLMDataDist]] = {}
        self._remote: dict[int, RemoteLink] = {}
        self._comms: dict[int, list[int]] = {}
        self._mooncake: MooncakeEndpoint | None = None
        self.transport = Transport.AUTO
        self.options: dict[str, str] = {}
        self._lock = threading.RLock()

    # -- links ----------------------------------------------------------------------------------

    def link(
        self, remote_id: int, addresses: Sequence[tuple[int, int]], timeout: int
    ) -> LLMStatusCode:
        """An engine of this process at one of `addresses` (or any, without addresses), else the
        listener at the first address that answers within `timeout` ms."""
        peer = self._find_local(remote_id, addresses)
        owner = self._owner()
        if peer is not None and owner is not None:
            with self._lock:
                self._close_remote(remote_id)
                self._local[remote_id] = weakref.ref(peer)
            peer._links.add_back(owner)
            return LLMStatusCode.LLM_SUCCESS
        return self._link_remote(remote_id, addresses, timeout)

    def add_back(self, peer: LLMDataDist) -> None:
        """The other half of an in-process link that `peer` made."""
        with self._lock:
            self._local[peer.cluster_id] = weakref.ref(peer)

    def unlink(self, remote_id: int) -> LLMStatusCode:
        with self._lock:
            local = self._local.pop(remote_id, None)
            remote = self._remote.pop(remote_id, None)
        if remote is not None:
            remote.close()
            return LLMStatusCode.LLM_SUCCESS
        peer = local() if local is not None else None
        if peer is None:
            return LLMStatusCode.LLM_NOT_YET_LINK
        peer._links.drop_back(self._cluster_id, self._owner())
        return LLMStatusCode.LLM_SUCCESS

    def drop_back(self, cluster_id: int, peer: LLMDataDist | None) -> None:
        with self._lock:
            back = self._local.get(cluster_id)
            if back is not None and back() is peer:
                del self._local[cluster_id]

    def peer(self, cluster_id: int) -> _core.Engine | RemoteLink:
        """The linked cluster's engine (this process) or the link to it; LLMException(NOT_YET_LINK)
        without a live link."""
        peer = self.find(cluster_id)
        if peer is None:
            raise_status(
                LLMStatusCode.LLM_NOT_YET_LINK,
                f"current cluster is not linked with remote cluster:{cluster_id}",
            )
        return peer

    def find(self, cluster_id: int) -> _core.Engine | RemoteLink | None:
        """As peer(), None without a live link."""
        remote = self._remote.get(cluster_id)
        if remote is not None and not remote.closed:
            return remote
        local = self._local.get(cluster_id)
        peer = local() if local is not None else None
        if peer is None or not peer._initialized or peer._engine is None:
            return None
        return peer._engine

    def is_linked(self, cluster_id: int) -> bool:
        try:
            self.peer(cluster_id)
        except LLMException:
            return False
        return True

    def _link_remote(
        self, remote_id: int, addresses: Sequence[tuple[int, int]], timeout: int
    ) -> LLMStatusCode:
        if self.transport == Transport.IN_PROCESS or not addresses:
            return LLMStatusCode.LLM_LINK_FAILED
        last_error: LLMException | None = None
        for ip, port in addresses:
            try:
                remote = RemoteLink(self._cluster_id, remote_id, int_to_ip(ip), port, self.transport,
                                    timeout, self.cross_host_endpoint)  # fmt: skip
            except LLMException as error:
                last_error = error
                continue
            with self._lock:
                self._close_remote(remote_id)
                self._local.pop(remote_id, None)
                self._remote[remote_id] = remote
            return LLMStatusCode.LLM_SUCCESS
        if last_error is not None:
            _log.warning("link to cluster %d failed: %s", remote_id, last_error)
        return LLMStatusCode.LLM_LINK_FAILED

    def _close_remote(self, remote_id: int) -> None:
        old = self._remote.pop(remote_id, None)
        if old is not None:
            old.close()

    # -- comms of `link` ------------------------------------------------------------------------

    def add_comm(self, linked: list[int]) -> int:
        comm_id = next(_comm_ids)
        with self._lock:
            self._comms[comm_id] = linked
        return comm_id

    def comm(self, comm_id: int, *, pop: bool = False) -> list[int] | None:
        with self._lock:
            return self._comms.pop(comm_id, None) if pop else self._comms.get(comm_id)

    # -- the cross-host endpoint ----------------------------------------------------------------

    def offered_endpoint(
        self, engine: _core.Engine, ip: str
    ) -> Callable[[], MooncakeEndpoint] | None:
        """What a listener offers a peer on another host: None (transport shm or in-process, or
        auto without the Mooncake extra), else a function that gives this engine's Mooncake
        endpoint. Transport mooncake opens it now (without the extra, init fails with a message
        naming it); auto opens it on the first link that needs it, so an engine linked only
        from its own host never starts a TransferEngine (about 1 s to tear down)."""
        if self.transport in (Transport.SHM, Transport.IN_PROCESS):
            return None
        if self.transport == Transport.AUTO and not mooncake_available():
            return None

        def endpoint() -> MooncakeEndpoint:
            with self._lock:
                if self._mooncake is None:
                    self._mooncake = MooncakeEndpoint(engine, ip, mooncake_protocol(self.options))
                return self._mooncake

        if self.transport == Transport.MOONCAKE:
            endpoint()
        return endpoint

    def cross_host_endpoint(self, local_ip: str) -> MooncakeEndpoint:
        with self._lock:
            if self._mooncake is None:
                owner = self._owner()
                if owner is None or owner._engine is None:
                    raise_status(
                        LLMStatusCode.LLM_ENGINE_FINALIZED, "LLMDataDist has been finalized"
                    )
                self._mooncake = MooncakeEndpoint(
                    owner._engine, local_ip, mooncake_protocol(self.options)
                )
            return self._mooncake

    def close(self) -> None:
        """Closes every link and the endpoint (finalize)."""
        with self._lock:
            remotes = list(self._remote.values())
            self._remote.clear()
            self._local.clear()
            self._comms.clear()
            mooncake, self._mooncake = self._mooncake, None
        for remote in remotes:
            remote.close()
        if mooncake is not None:
            mooncake.close()

    def abandon_after_fork(self) -> None:
        """In a child of fork(): the links to other processes (sockets, mailbox pages) and the
        Mooncake endpoint are the parent's, and used from both processes they would mix up each
        other's requests. The child forgets them without closing anything (a close could end
        the parent's link) and links again to use those clusters; in-process links stay."""
        self._lock = threading.RLock()  # another thread of the parent may have held it
        _inherited.extend(self._remote.values())
        if self._mooncake is not None:
            _inherited.append(self._mooncake)
        self._remote = {}
        self._mooncake = None

    def remote_link(self, cluster_id: int) -> RemoteLink | None:
        """The link to a listener of another process, if any (diagnostics and tests)."""
        return self._remote.get(cluster_id)
