"""The listener's table of linked peers (by ZeroMQ routing id) and of their leases."""

from __future__ import annotations

import itertools
import logging
import socket
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from .. import _core
from .._status import LLMStatusCode

__all__ = ["Refusal", "Session", "SessionTable"]

_log = logging.getLogger("llm_datadist_ref.remote")

LEASE_GRACE_S = 1.0
_MAX_BANNED = 4096


class Refusal(Exception):
    """A request the listener answers with an error status."""

    def __init__(self, status: LLMStatusCode, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Session:
    peer_cluster_id: int
    leases: dict[int, tuple[_core.Lease, float]] = field(default_factory=dict)
    conn: socket.socket | None = None  # same host: the Unix socket, open while the peer lives
    mailbox: _core.MailboxServer | None = None  # same host: its lease and commit requests


class SessionTable:
    """Sessions of one listener; used by its serving thread only."""

    def __init__(self, endpoint: str) -> None:
        self._endpoint = endpoint
        self._sessions: dict[bytes, Session] = {}
        self._by_fd: dict[int, bytes] = {}
        self._banned: OrderedDict[bytes, None] = OrderedDict()
        self._lease_ids = itertools.count(1)

    def open(self, routing_id: bytes, peer_cluster_id: int) -> None:
        self.drop(routing_id, "it linked again")
        self._sessions[routing_id] = Session(peer_cluster_id)

    def get(self, routing_id: bytes) -> Session:
        session = self._sessions.get(routing_id)
        if session is None:
            raise Refusal(LLMStatusCode.LLM_NOT_YET_LINK, f"not linked with {self._endpoint}")
        return session

    def find(self, routing_id: bytes) -> Session | None:
        return self._sessions.get(routing_id)

    def attach_conn(
        self, routing_id: bytes, conn: socket.socket, mailbox: _core.MailboxServer
    ) -> None:
        session = self._sessions[routing_id]
        session.conn, session.mailbox = conn, mailbox
        self._by_fd[conn.fileno()] = routing_id

    def watched_fds(self) -> list[int]:
        return list(self._by_fd)

    def routing_id_of_fd(self, fd: int) -> bytes | None:
        return self._by_fd.get(fd)

    def grant(self, session: Session, lease: _core.Lease, timeout_ms: int) -> int:
        number = next(self._lease_ids)
        session.leases[number] = (lease, time.monotonic() + timeout_ms / 1000 + LEASE_GRACE_S)
        return number

    def drop(self, routing_id: bytes, why: str) -> None:
        """Forgets a session and its leases (their pins go) and closes its Unix socket."""
        session = self._sessions.pop(routing_id, None)
        if session is None:
            return
        if session.leases:
            _log.info("listener %s: dropping %d leases of cluster %d: %s", self._endpoint,
                      len(session.leases), session.peer_cluster_id, why)  # fmt: skip
        session.leases.clear()
        if session.mailbox is not None:
            session.mailbox.close()  # its lease, if any, goes too
        if session.conn is not None:
            self._by_fd.pop(session.conn.fileno(), None)
            session.conn.close()

    def ban(self, routing_id: bytes, why: str) -> None:
        """Drops a peer that sent a malformed message; later messages from it are ignored."""
        _log.warning(
            "listener %s: dropping a peer after a malformed message: %s", self._endpoint, why
        )
        self.drop(routing_id, "malformed message")
        self._banned[routing_id] = None
        while len(self._banned) > _MAX_BANNED:
            self._banned.popitem(last=False)

    def is_banned(self, routing_id: bytes) -> bool:
        return routing_id in self._banned

    def expire_leases(self) -> None:
        now = time.monotonic()
        for session in self._sessions.values():
            for number in [n for n, (_lease, until) in session.leases.items() if until < now]:
                del session.leases[number]

    def close(self) -> None:
        for routing_id in list(self._sessions):
            self.drop(routing_id, "the listener closed")

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    @property
    def lease_count(self) -> int:
        sessions = list(self._sessions.values())
        return sum(len(s.leases) + bool(s.mailbox and s.mailbox.holds_lease) for s in sessions)
