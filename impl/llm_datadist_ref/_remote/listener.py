"""The serving side of links from other processes: a ZeroMQ ROUTER socket at exactly the address
of ``llm.listenIpInfo``, served by one thread.

Each linked peer is a session (`sessions`). A pull or push is two requests: ``lease`` (resolve
the key, pin the cache's memory, answer with its layout) and ``commit`` (release the key, after
the peer's copy) or ``release`` (the peer's copy failed: nothing is released). A peer of this
host sends them through its mailbox (a shared page served by a C++ thread of this engine,
`_core.MailboxServer`); a peer of another host, or a cache too large for the mailbox, over the
ZeroMQ socket (`requests`). Leases end with their commit, their release, the peer's Unix socket
closing (the peer process died), or their expiry (the peer's sync_kv_timeout plus a grace), so
the memory a pull reads is never freed or reused under it, and a dead peer pins nothing for long.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import zmq

from .. import _core
from .._status import LLMException, LLMStatusCode
from . import fdpass, wire
from .mooncake import MooncakeEndpoint
from .requests import RequestHandler
from .sessions import Refusal, SessionTable

__all__ = ["Listener"]

_log = logging.getLogger("llm_datadist_ref.remote")

_POLL_MS = 50


class Listener:
    """Serves `engine` (cluster `cluster_id`) at tcp://ip:port until close()."""

    def __init__(
        self,
        engine: _core.Engine,
        cluster_id: int,
        ip: str,
        port: int,
        mooncake: Callable[[], MooncakeEndpoint] | None = None,
    ) -> None:
        self._engine = engine
        self._endpoint = f"tcp://{ip}:{port}"
        self._router: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        # ZeroMQ drops a connection that sends a larger message.
        self._router.setsockopt(zmq.MAXMSGSIZE, wire.MAX_MESSAGE_BYTES)
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
        self._sessions = SessionTable(self._endpoint)
        self._requests = RequestHandler(
            engine, cluster_id, self._endpoint, self._sessions, self._unix_path, mooncake
        )
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
        return self._sessions.session_count

    @property
    def lease_count(self) -> int:
        return self._sessions.lease_count

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
        for fd in self._sessions.watched_fds():
            poller.register(fd, zmq.POLLIN)
        for target, _event in poller.poll(_POLL_MS):
            if target is self._router:
                self._drain_router()
            elif self._unix is not None and target == self._unix.fileno():
                self._accept_unix()
            elif isinstance(target, int):
                routing_id = self._sessions.routing_id_of_fd(target)
                if routing_id is not None:
                    self._sessions.drop(routing_id, "its process closed the connection")
        self._sessions.expire_leases()

    def _drain_router(self) -> None:
        while True:
            try:
                frames = self._router.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            if len(frames) != 2:
                if frames:
                    self._sessions.ban(frames[0], f"{len(frames) - 1} frames instead of 1")
                continue
            routing_id, payload = frames
            if self._sessions.is_banned(routing_id):
                continue
            try:
                reply = self._reply(routing_id, wire.decode(payload))
            except wire.MalformedMessage as error:
                self._sessions.ban(routing_id, str(error))
                continue
            self._router.send_multipart([routing_id, wire.encode(reply)])

    def _reply(self, routing_id: bytes, request: dict[str, Any]) -> dict[str, Any]:
        number = wire.field(request, "id", int)
        try:
            body = self._requests.handle(routing_id, request)
        except Refusal as refusal:
            return {"ok": False, "re": number, "code": int(refusal.status), "msg": str(refusal)}
        except (LLMException, TypeError, ValueError) as error:
            if isinstance(error, wire.MalformedMessage):
                raise
            status = getattr(error, "status_code", LLMStatusCode.LLM_PARAM_INVALID)
            return {"ok": False, "re": number, "code": int(status), "msg": str(error)}
        return {"ok": True, "re": number, **body}

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
            session = self._sessions.find(routing_id)
            if session is None or session.conn is not None:
                raise fdpass.PeerRefused("no such session, or its pools were already sent")
            pools = [
                (p, *pool) for p in (0, 1) if (pool := self._engine.shared_pool(p)) is not None
            ]
            mailbox = _core.MailboxServer(self._engine)
            try:
                fdpass.send_pools(conn, pools, (mailbox.fd, _core.MailboxServer.bytes))
            except BaseException:
                mailbox.close()
                raise
            conn.setblocking(False)
        except (OSError, wire.MalformedMessage, LLMException) as error:
            _log.warning("listener %s: refused a shared-memory peer: %s", self._endpoint, error)
            conn.close()
            return
        self._sessions.attach_conn(routing_id, conn, mailbox)

    def _shutdown(self) -> None:
        self._sessions.close()
        self._router.close(linger=0)
        if self._unix is not None:
            self._unix.close()
        if self._unix_path is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._unix_path)
