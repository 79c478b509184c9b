"""Handing a listener's pool memory (memfd file descriptors) to a peer process of this host.

The listener serves a Unix socket in a directory only its user can enter; both ends check the
other's credentials (SO_PEERCRED) and talk only to a process of the same user. The connection
stays open for the life of the link, so the listener sees at once when the peer process dies.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import stat
import struct
from pathlib import Path
from typing import NamedTuple

from . import wire

__all__ = [
    "PeerRefused",
    "SharedMemory",
    "check_same_user",
    "make_server",
    "receive_pools",
    "send_pools",
]

_CRED = struct.Struct("3i")  # struct ucred: pid, uid, gid
_MAX_HANDSHAKE = 4096


class PeerRefused(ConnectionError):
    """The process at the other end is not one of this user's, or broke the handshake."""


def check_same_user(sock: socket.socket) -> int:
    """The peer's pid; PeerRefused unless its uid is ours."""
    pid: int
    uid: int
    pid, uid, _gid = _CRED.unpack(
        sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CRED.size)
    )
    if uid != os.getuid():
        raise PeerRefused(f"peer process {pid} runs as uid {uid}, not {os.getuid()}")
    return pid


def _private_directory() -> Path:
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp")
    directory = base / f"llm_datadist_ref-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    info = directory.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermissionError(f"{directory} must be a directory private to uid {os.getuid()}")
    return directory


def _remove_stale(directory: Path) -> None:
    """Sockets left by listeners whose process died without finalize (their pid is in the name)."""
    for entry in directory.glob("*-*.sock"):
        pid_text = entry.name.split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            with contextlib.suppress(OSError):
                entry.unlink()
        except PermissionError:
            continue  # alive, another user's (cannot be: the directory is ours)


def make_server() -> tuple[socket.socket, str]:
    """A listening Unix socket at a fresh path in this user's private directory."""
    directory = _private_directory()
    _remove_stale(directory)
    path = str(directory / f"{os.getpid()}-{secrets.token_hex(8)}.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path)
        server.listen(64)
    except OSError:
        server.close()
        raise
    server.setblocking(False)
    return server, path


def send_pools(
    conn: socket.socket, pools: list[tuple[int, int, int]], mailbox: tuple[int, int]
) -> None:
    """Sends [(placement, fd, bytes)] and the mailbox (fd, bytes), fds attached (SCM_RIGHTS)."""
    message = wire.encode(
        {"ok": True, "pools": [[p, n] for p, _fd, n in pools], "mailbox": mailbox[1]}
    )
    socket.send_fds(conn, [message], [fd for _p, fd, _n in pools] + [mailbox[0]])


def read_handshake(conn: socket.socket) -> bytes:
    """The session id a connecting peer presents (sent once, right after connecting)."""
    data = conn.recv(_MAX_HANDSHAKE)
    message = wire.decode(data)
    session = wire.field(message, "session", bytes)
    return session  # type: ignore[no-any-return]


class SharedMemory(NamedTuple):
    """What a listener hands a peer of its host: {placement: (fd, bytes)} of its pools and the
    (fd, bytes) of the peer's mailbox. The receiver owns (and closes) the fds."""

    pools: dict[int, tuple[int, int]]
    mailbox: tuple[int, int]

    def fds(self) -> list[int]:
        return [fd for fd, _size in self.pools.values()] + [self.mailbox[0]]


def receive_pools(
    path: str, session: bytes, timeout_s: float
) -> tuple[socket.socket, SharedMemory]:
    """Connects, presents `session`, and returns the open connection with what the listener
    shares."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.settimeout(max(timeout_s, 0.001))
        conn.connect(path)
        check_same_user(conn)
        conn.sendall(wire.encode({"op": "pools", "session": session}))
        data, fds, _flags, _addr = socket.recv_fds(conn, _MAX_HANDSHAKE, 5)
        try:
            message = wire.decode(data)
            entries = wire.field(message, "pools", list)
            mailbox_bytes = wire.field(message, "mailbox", int)
            if len(entries) + 1 != len(fds) or not all(
                isinstance(e, list) and len(e) == 2 and all(type(v) is int for v in e)
                for e in entries
            ):
                raise wire.MalformedMessage(
                    "pools must list [placement, bytes] per fd, then the mailbox"
                )
        except Exception:
            for fd in fds:
                os.close(fd)
            raise
        pools = {
            placement: (fd, size) for (placement, size), fd in zip(entries, fds[:-1], strict=True)
        }
        return conn, SharedMemory(pools, (fds[-1], mailbox_bytes))
    except BaseException:
        conn.close()
        raise
