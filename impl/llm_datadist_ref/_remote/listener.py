"""The serving side of links from other processes: a ZeroMQ ROUTER socket at exactly the address
of ``llm.listenIpInfo``, served by one thread.

Each linked peer is a session (by ZeroMQ routing id). A pull or push is two requests: ``lease``
(resolve the key, pin the cache's memory, answer with its layout) and ``commit`` (release the key,
after the peer's copy) or ``release`` (the peer's copy failed: nothing is released). Leases end
with their commit, their release, the peer's Unix socket closing (the peer process died), or
their expiry (the peer's sync_kv_timeout plus a grace), so the memory a pull reads is never freed
or reused under it, and a dead peer pins nothing for long.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import zmq

from .. import _core
from .._status import LLMException, LLMStatusCode
from . import fdpass, wire
from .hostid import boot_id
from .mooncake import MooncakeEndpoint

__all__ = ["Listener"]

_log = logging.getLogger("llm_datadist_ref.remote")

_POLL_MS = 50
_LEASE_GRACE_S = 1.0
_MAX_BANNED = 4096
_OPERATION_OF_LEASE = {False: "pull_cache", True: "pull_blocks"}


@dataclass
class _Session:
    peer_cluster_id: int
    leases: dict[int, tuple[_core.Lease, float]] = field(default_factory=dict)
    conn: socket.socket | None = None


class _Refusal(Exception):
    """A request this side answers with an error status."""

    def __init__(self, status: LLMStatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status


class Listener:
    """Serves `engine` (cluster `cluster_id`) at tcp://ip:port until close()."""

    def __init__(
        self,
        engine: _core.Engine,
        cluster_id: int,
        ip: str,
        port: int,
        mooncake: MooncakeEndpoint | None = None,
    ) -> None:
        self._engine = engine
        self._mooncake = mooncake
        self._cluster_id = cluster_id
        self._endpoint = f"tcp://{ip}:{port}"
        self._router: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(
            zmq.MAXMSGSIZE, wire.MAX_MESSAGE_BYTES
        )  # larger: connection dropped
        try:
            self._router.bind(self._endpoint)
        except zmq.ZMQError as error:
            self._router.close()
            raise LLMException(
                f"llm.listenIpInfo {ip}:{port}: cannot listen there ({error})",
                status_code=LLMStatusCode.LLM_FAILED,
            ) from None
        self._unix: socket.socket | None = None
        self._unix_path: str | None = None
        if engine.shared_pool(1) is not None or engine.shared_pool(0) is not None:
            self._unix, self._unix_path = fdpass.make_server()
        self._sessions: dict[bytes, _Session] = {}
        self._by_conn: dict[int, bytes] = {}
        self._banned: OrderedDict[bytes, None] = OrderedDict()
        self._lease_ids = itertools.count(1)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"llm_datadist_ref-listen-{port}", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stops serving; drops every session and lease. Idempotent."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join()

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @property
    def lease_count(self) -> int:
        return sum(len(s.leases) for s in list(self._sessions.values()))

    # -- the serving thread ---------------------------------------------------------------------

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                self._serve_once()
        except Exception:  # a bug here must not leave a half-dead listener silently
            _log.exception("listener %s stopped on an error", self._endpoint)
        finally:
            self._shutdown()

    def _serve_once(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        if self._unix is not None:
            poller.register(self._unix.fileno(), zmq.POLLIN)
        for fd in self._by_conn:
            poller.register(fd, zmq.POLLIN)
        for target, _event in poller.poll(_POLL_MS):
            if target is self._router:
                self._drain_router()
            elif self._unix is not None and target == self._unix.fileno():
                self._accept_unix()
            elif isinstance(target, int) and target in self._by_conn:
                self._drop(self._by_conn[target], "its process closed the connection")
        self._expire_leases()

    def _drain_router(self) -> None:
        while True:
            try:
                frames = self._router.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            if len(frames) != 2:
                if frames:
                    self._malformed(frames[0], f"{len(frames) - 1} frames instead of 1")
                continue
            routing_id, payload = frames
            if routing_id in self._banned:
                continue
            try:
                request = wire.decode(payload)
                reply = self._handle(routing_id, request)
            except wire.MalformedMessage as error:
                self._malformed(routing_id, str(error))
                continue
            self._router.send_multipart([routing_id, wire.encode(reply)])

    def _malformed(self, routing_id: bytes, why: str) -> None:
        _log.warning(
            "listener %s: dropping a peer after a malformed message: %s", self._endpoint, why
        )
        self._drop(routing_id, "malformed message")
        self._banned[routing_id] = None
        while len(self._banned) > _MAX_BANNED:
            self._banned.popitem(last=False)

    def _handle(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        op = wire.field(request, "op", str)
        number = wire.field(request, "id", int)
        handler = _HANDLERS.get(op)
        if handler is None:
            raise wire.MalformedMessage(f"unknown op {op!r}")
        try:
            body = handler(self, routing_id, request)
        except _Refusal as refusal:
            return {"ok": False, "re": number, "code": int(refusal.status), "msg": str(refusal)}
        except (LLMException, TypeError, ValueError) as error:
            status = getattr(error, "status_code", LLMStatusCode.LLM_PARAM_INVALID)
            return {"ok": False, "re": number, "code": int(status), "msg": str(error)}
        return {"ok": True, "re": number, **body}

    # -- requests -------------------------------------------------------------------------------

    def _hello(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        wanted = wire.field(request, "cluster_id", int)
        peer = wire.field(request, "from", int)
        if wanted != self._cluster_id:
            raise _Refusal(
                LLMStatusCode.LLM_LINK_FAILED,
                f"{self._endpoint} serves cluster {self._cluster_id}, not {wanted}",
            )
        self._drop(routing_id, "it linked again")
        self._sessions[routing_id] = _Session(peer)
        mooncake = None
        if self._mooncake is not None:
            pools = [[p, base, size] for p, (base, size) in self._mooncake.pools.items()]
            mooncake = {"session": self._mooncake.session, "pools": pools}
        return {
            "cluster_id": self._cluster_id,
            "boot": boot_id(),
            "shm": self._unix_path,
            "mooncake": mooncake,
        }

    def _bye(self, routing_id: bytes, _request: dict[str, Any]) -> dict[str, Any]:
        self._drop(routing_id, "it unlinked")
        return {}

    def _ping(self, _routing_id: bytes, _request: dict[str, Any]) -> dict[str, Any]:
        return {}

    def _lease(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._session(routing_id)
        blocks = wire.field(request, "blocks", bool)
        key = [wire.field(request, name, int) for name in ("kind", "a", "b", "c")]
        _injected_delay(_OPERATION_OF_LEASE[blocks])
        lease = self._engine.lease_source(key[0], key[1], key[2], key[3], blocks)
        return self._grant(session, lease, request)

    def _lease_push(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._session(routing_id)
        cache_id = wire.field(request, "cache_id", int)
        batch_index = wire.field(request, "batch_index", int)
        _injected_delay("push_cache")
        lease = self._engine.lease_push_target(cache_id, batch_index)
        return self._grant(session, lease, request)

    def _commit(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._session(routing_id)
        tensors = wire.int_list(request, "tensors")
        entry = session.leases.pop(wire.field(request, "lease", int), None)
        if entry is None:
            raise _Refusal(
                LLMStatusCode.LLM_TIMEOUT, "the lease expired before the transfer completed"
            )
        self._engine.commit_lease(entry[0], tensors)
        return {}

    def _release(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        session = self._session(routing_id)
        session.leases.pop(wire.field(request, "lease", int), None)
        return {}

    def _session(self, routing_id: bytes) -> _Session:
        session = self._sessions.get(routing_id)
        if session is None:
            raise _Refusal(LLMStatusCode.LLM_NOT_YET_LINK, f"not linked with {self._endpoint}")
        return session

    def _grant(
        self, session: _Session, lease: _core.Lease, request: dict[str, Any]
    ) -> dict[str, Any]:
        timeout_ms = wire.field(request, "ms", int)
        if not 0 < timeout_ms < 2**31:
            raise wire.MalformedMessage("ms must be a positive int32")
        number = next(self._lease_ids)
        session.leases[number] = (lease, time.monotonic() + timeout_ms / 1000 + _LEASE_GRACE_S)
        return {"lease": number, "placement": lease.placement, "layout": list(lease.layout)}

    # -- sessions -------------------------------------------------------------------------------

    def _accept_unix(self) -> None:
        assert self._unix is not None
        try:
            conn, _ = self._unix.accept()
        except (BlockingIOError, InterruptedError):
            return
        try:
            conn.settimeout(1.0)
            fdpass.check_same_user(conn)
            routing_id = fdpass.read_handshake(conn)
            session = self._sessions.get(routing_id)
            if session is None or session.conn is not None:
                raise fdpass.PeerRefused("no such session, or its pools were already sent")
            pools = [
                (p, *shared) for p in (0, 1) if (shared := self._engine.shared_pool(p)) is not None
            ]
            fdpass.send_pools(conn, pools)
            conn.setblocking(False)
        except (OSError, wire.MalformedMessage) as error:
            _log.warning("listener %s: refused a shared-memory peer: %s", self._endpoint, error)
            conn.close()
            return
        session.conn = conn
        self._by_conn[conn.fileno()] = routing_id

    def _drop(self, routing_id: bytes, why: str) -> None:
        session = self._sessions.pop(routing_id, None)
        if session is None:
            return
        if session.leases:
            _log.info(
                "listener %s: dropping %d leases of cluster %d: %s",
                self._endpoint,
                len(session.leases),
                session.peer_cluster_id,
                why,
            )
        session.leases.clear()
        if session.conn is not None:
            self._by_conn.pop(session.conn.fileno(), None)
            session.conn.close()

    def _expire_leases(self) -> None:
        now = time.monotonic()
        for session in self._sessions.values():
            for number in [n for n, (_lease, until) in session.leases.items() if until < now]:
                del session.leases[number]

    def _shutdown(self) -> None:
        for routing_id in list(self._sessions):
            self._drop(routing_id, "the listener closed")
        self._router.close(linger=0)
        if self._unix is not None:
            self._unix.close()
        if self._unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._unix_path)


def _injected_delay(operation: str) -> None:
    """testing.delay on the serving side: a peer's pull waits this long for its lease."""
    milliseconds = _core.operation_delay(operation)
    if milliseconds > 0:
        time.sleep(milliseconds / 1000)


_HANDLERS = {
    "hello": Listener._hello,
    "bye": Listener._bye,
    "ping": Listener._ping,
    "lease": Listener._lease,
    "lease_push": Listener._lease_push,
    "commit": Listener._commit,
    "release": Listener._release,
}
