"""What a listener does for each control request (``op``) of a linked peer."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from .. import _core
from .._status import LLMException, LLMStatusCode
from . import wire
from .hostid import boot_id
from .mooncake import MooncakeEndpoint
from .sessions import Refusal, Session, SessionTable

__all__ = ["RequestHandler"]

_log = logging.getLogger("llm_datadist_ref.remote")
_OPERATION_OF_LEASE = {False: "pull_cache", True: "pull_blocks"}


class RequestHandler:
    """Answers requests for one listening engine. `handle` returns the reply body or raises
    Refusal (an error reply) or wire.MalformedMessage (the peer is dropped)."""

    def __init__(
        self,
        engine: _core.Engine,
        cluster_id: int,
        endpoint: str,
        sessions: SessionTable,
        shm_path: str | None,
        mooncake: Callable[[], MooncakeEndpoint] | None,
    ) -> None:
        """``mooncake()`` opens (once) the endpoint offered to peers that cannot share memory."""
        self._engine = engine
        self._cluster_id = cluster_id
        self._endpoint = endpoint
        self._sessions = sessions
        self._shm_path = shm_path
        self._mooncake = mooncake
        self._ops = {
            "hello": self._hello,
            "bye": self._bye,
            "ping": self._ping,
            "lease": self._lease,
            "lease_push": self._lease_push,
            "commit": self._commit,
            "release": self._release,
        }

    def handle(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        op = wire.field(request, "op", str)
        handler = self._ops.get(op)
        if handler is None:
            raise wire.MalformedMessage(f"unknown op {op!r}")
        return handler(routing_id, request)

    def _hello(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        wanted = wire.field(request, "cluster_id", int)
        peer = wire.field(request, "from", int)
        if wanted != self._cluster_id:
            raise Refusal(
                LLMStatusCode.LLM_LINK_FAILED,
                f"{self._endpoint} serves cluster {self._cluster_id}, not {wanted}",
            )
        self._sessions.open(routing_id, peer)
        return {
            "cluster_id": self._cluster_id,
            "boot": boot_id(),
            "shm": self._shm_path,
            "mooncake": self._cross_host_offer(request),
        }

    def _cross_host_offer(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The Mooncake endpoint, for a peer that will not map the pools: on another host, or
        one whose transport does not take shared memory. Opened on the first such hello."""
        shares_memory = (
            bool(boot_id())
            and request.get("boot") == boot_id()
            and request.get("takes_shm") is True
            and self._shm_path is not None
        )
        if self._mooncake is None or shares_memory:
            return None
        try:
            endpoint = self._mooncake()
        except LLMException as error:  # the peer's link fails, naming the missing transport
            _log.warning("%s: no cross-host endpoint to offer: %s", self._endpoint, error)
            return None
        pools = [[p, base, size] for p, (base, size) in endpoint.pools.items()]
        return {"session": endpoint.session, "pools": pools}

    def _bye(self, routing_id: bytes, _request: dict[str, Any]) -> dict[str, Any]:
        self._sessions.drop(routing_id, "it unlinked")
        return {}

    def _ping(self, _routing_id: bytes, _request: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _lease(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._sessions.get(routing_id)
        blocks = wire.field(request, "blocks", bool)
        kind, a, b, c = (wire.field(request, name, int) for name in ("kind", "a", "b", "c"))
        _injected_delay(_OPERATION_OF_LEASE[blocks])
        return self._grant(session, self._engine.lease_source(kind, a, b, c, blocks), request)

    def _lease_push(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._sessions.get(routing_id)
        cache_id = wire.field(request, "cache_id", int)
        batch_index = wire.field(request, "batch_index", int)
        _injected_delay("push_cache")
        return self._grant(session, self._engine.lease_push_target(cache_id, batch_index), request)

    def _commit(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._sessions.get(routing_id)
        tensors = wire.int_list(request, "tensors")
        entry = session.leases.pop(wire.field(request, "lease", int), None)
        if entry is None:
            raise Refusal(
                LLMStatusCode.LLM_TIMEOUT, "the lease expired before the transfer completed"
            )
        self._engine.commit_lease(entry[0], tensors)
        return {}

    def _release(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._sessions.get(routing_id)
        session.leases.pop(wire.field(request, "lease", int), None)
        return {}

    def _grant(
        self, session: Session, lease: _core.Lease, request: dict[str, Any]
    ) -> dict[str, Any]:
        timeout_ms = wire.field(request, "ms", int)
        if not 0 < timeout_ms < 2**31:
            raise wire.MalformedMessage("ms must be a positive int32")
        number = self._sessions.grant(session, lease, timeout_ms)
        return {"lease": number, "placement": lease.placement, "layout": list(lease.layout)}


def _injected_delay(operation: str) -> None:
    """testing.delay on the serving side: a peer's pull waits this long for its lease."""
    milliseconds = _core.operation_delay(operation)
    if milliseconds > 0:
        time.sleep(milliseconds / 1000)
