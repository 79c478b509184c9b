"""The linking side: one link to a listener in another process (a ZeroMQ DEALER socket), and the
pulls and pushes that go over it. Every remote operation is bounded by the engine's
sync_kv_timeout: a listener that does not answer in time makes the call raise LLMException."""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import zmq

from .. import _core
from .._status import LLMException, LLMStatusCode, code_to_status
from . import fdpass, wire
from .hostid import boot_id
from .mooncake import MooncakeEndpoint, mooncake_available
from .transport import MOONCAKE_EXTRA, Transport

__all__ = ["RemoteLink"]

_RELEASE_WAIT_MS = 200


class _Deadline:
    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        self._end = time.monotonic() + timeout_ms / 1000

    def remaining_ms(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def _fail(status: LLMStatusCode, message: str) -> LLMException:
    return LLMException(message, status_code=status)


class RemoteLink:
    """A link from an engine of this process to cluster `remote_cluster_id` listening at
    `ip:port`. Thread-safe: requests on the link are serialized."""

    def __init__(
        self,
        local_cluster_id: int,
        remote_cluster_id: int,
        ip: str,
        port: int,
        transport: Transport,
        timeout_ms: int,
        cross_host: Callable[[str], MooncakeEndpoint] | None = None,
    ) -> None:
        """`cross_host(local_ip)` gives this engine's Mooncake endpoint, for a listener on
        another host (or when the transport is forced to mooncake)."""
        self.remote_cluster_id = remote_cluster_id
        self.endpoint = f"{ip}:{port}"
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._dealer: zmq.Socket[bytes] = zmq.Context.instance().socket(zmq.DEALER)
        self._dealer.setsockopt(zmq.LINGER, 0)
        self._routing_id = secrets.token_bytes(16)
        self._dealer.setsockopt(zmq.ROUTING_ID, self._routing_id)
        self._dealer.setsockopt(zmq.MAXMSGSIZE, wire.MAX_MESSAGE_BYTES)
        self._regions: dict[int, _core.PeerRegion] = {}
        self._conn: socket.socket | None = None
        self._mooncake: tuple[MooncakeEndpoint, str] | None = None
        # Same host: leases and commits through a shared page instead of the socket.
        self._mailbox: _core.MailboxClient | None = None
        # Across hosts: where the listener's pools lie in its address space (diagnostics).
        self.remote_pool_bases: dict[int, int] = {}
        self._cross_host = cross_host
        self._closed = False  # as the dealer's own flag, without a call into pyzmq (hot path)
        try:
            self._dealer.connect(f"tcp://{ip}:{port}")
            self._open(local_cluster_id, transport, _Deadline(timeout_ms), ip)
        except BaseException:
            self.close(notify=False)
            raise

    def _open(
        self, local_cluster_id: int, transport: Transport, deadline: _Deadline, ip: str
    ) -> None:
        hello = self.request(
            {
                "op": "hello",
                "cluster_id": self.remote_cluster_id,
                "from": local_cluster_id,
                "boot": boot_id(),
                "takes_shm": transport in (Transport.AUTO, Transport.SHM),
            },
            deadline,
        )
        same_host = bool(boot_id()) and hello.get("boot") == boot_id()
        shm_path = hello.get("shm")
        if transport in (Transport.AUTO, Transport.SHM) and same_host and isinstance(shm_path, str):
            self._map_pools(shm_path, deadline)
            return
        if transport is Transport.SHM:
            raise _fail(
                LLMStatusCode.LLM_LINK_FAILED,
                f"cluster {self.remote_cluster_id} at {self.endpoint} does not share memory with this "
                "process (another host, or no pools); llm_datadist_ref.transport=shm needs one host",
            )
        self._open_cross_host(hello.get("mooncake"), ip)

    def _open_cross_host(self, offer: object, ip: str) -> None:
        """Reads the listener's Mooncake offer and readies this side's endpoint."""
        if self._cross_host is None or not mooncake_available():
            raise _fail(
                LLMStatusCode.LLM_LINK_FAILED,
                f"cluster {self.remote_cluster_id} at {self.endpoint} is on another host (or "
                "llm_datadist_ref.transport=mooncake was asked for): the cross-host transport needs "
                f"the Mooncake Transfer Engine extra ({MOONCAKE_EXTRA}; Debian libibverbs1)",
            )
        try:
            if not isinstance(offer, dict):
                raise wire.MalformedMessage("no Mooncake endpoint offered")
            session = wire.field(offer, "session", str)
            for entry in wire.field(offer, "pools", list):
                if not (
                    isinstance(entry, list)
                    and len(entry) == 3
                    and all(type(v) is int for v in entry)
                ):
                    raise wire.MalformedMessage("pools are [placement, base, bytes]")
                self._regions[entry[0]] = _core.PeerRegion.remote(entry[1], entry[2])
                self.remote_pool_bases[entry[0]] = entry[1]
        except (wire.MalformedMessage, LLMException, ValueError) as error:
            raise _fail(
                LLMStatusCode.LLM_LINK_FAILED,
                f"cluster {self.remote_cluster_id} at {self.endpoint} offers no cross-host transport "
                f"(the listener lacks the extra {MOONCAKE_EXTRA}?): {error}",
            ) from None
        self._mooncake = (self._cross_host(_local_ip_towards(ip)), session)

    def _map_pools(self, path: str, deadline: _Deadline) -> None:
        routing_id = self._routing_id
        try:
            conn, shared = fdpass.receive_pools(path, routing_id, deadline.remaining_ms() / 1000)
        except (OSError, wire.MalformedMessage) as error:
            raise _fail(
                LLMStatusCode.LLM_LINK_FAILED,
                f"cannot map the pools of cluster {self.remote_cluster_id} at {self.endpoint}: {error}",
            ) from None
        self._conn = conn
        try:
            for placement, (fd, size) in shared.pools.items():
                self._regions[placement] = _core.PeerRegion(fd, size)
            label = f"cluster {self.remote_cluster_id} at {self.endpoint}"
            self._mailbox = _core.MailboxClient(*shared.mailbox, label, self._regions)
        finally:
            for fd in shared.fds():
                os.close(fd)

    def close(self, *, notify: bool = True) -> None:
        """Unlinks: tells the listener (best effort, without waiting) and drops the mappings."""
        with self._lock:
            if self._dealer.closed:
                return
            self._closed = True
            self._mailbox = None  # first: a pull that reads it from now on takes the socket path
            if notify:
                with contextlib.suppress(zmq.ZMQError):
                    self._dealer.send(wire.encode({"op": "bye", "id": 0}), zmq.NOBLOCK)
            self._dealer.close(linger=100 if notify else 0)
            if self._conn is not None:
                self._conn.close()
            self._regions.clear()

    @property
    def closed(self) -> bool:
        return self._closed

    def request(self, message: dict[str, Any], deadline: _Deadline) -> dict[str, Any]:
        """Sends one request and waits for its reply until the deadline; LLMException on an error
        reply (its status), on timeout (LLM_TIMEOUT), or on a closed link (LLM_NOT_YET_LINK)."""
        with self._lock:
            if self._dealer.closed:
                raise _fail(
                    LLMStatusCode.LLM_NOT_YET_LINK, f"the link to {self.endpoint} is closed"
                )
            number = next(self._ids)
            self._dealer.send(wire.encode({**message, "id": number}))
            while True:
                remaining = deadline.remaining_ms()
                if remaining <= 0 or not self._dealer.poll(remaining, zmq.POLLIN):
                    raise _fail(
                        LLMStatusCode.LLM_TIMEOUT,
                        f"cluster {self.remote_cluster_id} at {self.endpoint} did not answer "
                        f"{message['op']!r} within {deadline.timeout_ms} ms",
                    )
                try:
                    reply = wire.decode(self._dealer.recv())
                except wire.MalformedMessage as error:
                    raise _fail(
                        LLMStatusCode.LLM_FAILED, f"malformed reply from {self.endpoint}: {error}"
                    ) from None
                if reply.get("re") == number:
                    break  # older replies belong to requests that timed out
        if reply.get("ok") is not True:
            code = reply.get("code")
            status = code_to_status(code) if type(code) is int else LLMStatusCode.LLM_FAILED
            raise _fail(status, f"cluster {self.remote_cluster_id}: {reply.get('msg', 'failed')}")
        return reply

    def pull_through_mailbox(
        self,
        engine: _core.Engine,
        key: tuple[int, int, int, int],
        dst_id: int,
        batch_index: int,
        blocks: tuple[Sequence[int], Sequence[int]] | None = None,
    ) -> bool:
        """The common pull_cache (`blocks` None) or pull_blocks (a whole slice or whole blocks, no
        layer ranges, arguments already checked; block lists of anything but exact ints are left
        to the caller's checks) in one core call; False when the caller must take `pull` instead:
        no mailbox (another host, a closed link), a testing delay to apply, such a block list, or
        a cache too large for the mailbox."""
        mailbox = self._mailbox
        return mailbox is not None and engine.quick_pull_via_mailbox(
            mailbox, key, dst_id, batch_index, blocks
        )

    def _open_mailbox(self) -> _core.MailboxClient | None:
        """The mailbox of a link to a listener of this host; LLM_NOT_YET_LINK once closed."""
        mailbox = self._mailbox
        if mailbox is not None and self._dealer.closed:
            raise _fail(LLMStatusCode.LLM_NOT_YET_LINK, f"the link to {self.endpoint} is closed")
        return mailbox

    def _release(self, lease: int) -> None:
        """Ends a lease after a failed copy (nothing is released on the listener); best effort:
        an unreachable listener drops the lease itself when it expires."""
        with contextlib.suppress(LLMException):
            self.request({"op": "release", "lease": lease}, _Deadline(_RELEASE_WAIT_MS))

    # -- transfers ------------------------------------------------------------------------------

    def _leased(self, reply: dict[str, Any]) -> tuple[int, _core.PeerRegion, _core.PeerLayout]:
        try:
            number = wire.field(reply, "lease", int)
            placement = wire.field(reply, "placement", int)
            layout = wire.field(reply, "layout", list)
            if len(layout) != 6:
                raise wire.MalformedMessage("a layout has 6 fields")
        except wire.MalformedMessage as error:
            raise _fail(
                LLMStatusCode.LLM_FAILED, f"malformed lease from {self.endpoint}: {error}"
            ) from None
        region = self._regions.get(placement)
        if region is None:
            self._release(number)
            raise _fail(
                LLMStatusCode.LLM_FAILED,
                f"no mapped pool of placement {placement} at {self.endpoint}",
            )
        return number, region, tuple(layout)

    def pull(
        self,
        engine: _core.Engine,
        operation: str,
        key: tuple[int, int, int, int],
        dst: dict[str, Any],
    ) -> None:
        """pull_cache / pull_blocks into local cache dst["dst_id"]: lease, copy, commit (through
        the mailbox on one host, else over the socket)."""
        deadline = _Deadline(engine.timeout_ms)
        _local_delay(operation)
        blocks = operation == "pull_blocks"
        kind, a, b, c = key
        mailbox = self._open_mailbox()
        if mailbox is not None and engine.pull_via_mailbox(
            mailbox,
            kind,
            a,
            b,
            c,
            *_pull_target(dst, blocks),
            deadline.remaining_ms(),
        ):
            return
        reply = self.request(
            {
                "op": "lease",
                "kind": kind,
                "a": a,
                "b": b,
                "c": c,
                "blocks": blocks,
                "ms": engine.timeout_ms,
            },
            deadline,
        )
        number, region, layout = self._leased(reply)
        if self._mooncake is not None:
            self._pull_cross_host(engine, number, region, layout, kind, blocks, dst, deadline)
            return
        try:
            taken = engine.pull_from_peer(
                region,
                layout,
                kind,
                *_pull_target(dst, blocks),
                deadline.remaining_ms(),
            )
        except BaseException:
            self._release(number)
            raise
        self.request({"op": "commit", "lease": number, "tensors": taken}, deadline)

    def push(self, engine: _core.Engine, target: tuple[int, int], src: dict[str, Any]) -> None:
        """push_cache from local cache src["src_id"] into (cache_id, batch_index) of the remote."""
        deadline = _Deadline(engine.timeout_ms)
        _local_delay("push_cache")
        mailbox = self._open_mailbox()
        if mailbox is not None and engine.push_via_mailbox(
            mailbox,
            target[0],
            target[1],
            src["src_id"],
            src["src_batch_index"],
            src["src_tensors"],
            src["dst_tensors"],
            deadline.remaining_ms(),
        ):
            return
        reply = self.request(
            {
                "op": "lease_push",
                "cache_id": target[0],
                "batch_index": target[1],
                "ms": engine.timeout_ms,
            },
            deadline,
        )
        number, region, layout = self._leased(reply)
        if self._mooncake is not None:
            self._push_cross_host(engine, number, region, layout, src, deadline)
            return
        try:
            written = engine.push_to_peer(
                region,
                layout,
                src["src_id"],
                src["src_batch_index"],
                src["src_tensors"],
                src["dst_tensors"],
                deadline.remaining_ms(),
            )
        except BaseException:
            self._release(number)
            raise
        self.request({"op": "commit", "lease": number, "tensors": written}, deadline)

    def _pull_cross_host(
        self,
        engine: _core.Engine,
        number: int,
        region: _core.PeerRegion,
        layout: _core.PeerLayout,
        kind: int,
        blocks: bool,
        dst: dict[str, Any],
        deadline: _Deadline,
    ) -> None:
        assert self._mooncake is not None
        endpoint, session = self._mooncake
        try:
            plan = engine.plan_pull_remote(
                region,
                layout,
                kind,
                *_pull_target(dst, blocks),
                deadline.remaining_ms(),
            )
            endpoint.read(session, plan, deadline.remaining_ms())
        except BaseException:
            self._release(number)
            raise
        self.request({"op": "commit", "lease": number, "tensors": plan.tensors}, deadline)

    def _push_cross_host(
        self,
        engine: _core.Engine,
        number: int,
        region: _core.PeerRegion,
        layout: _core.PeerLayout,
        src: dict[str, Any],
        deadline: _Deadline,
    ) -> None:
        assert self._mooncake is not None
        endpoint, session = self._mooncake
        try:
            plan = engine.plan_push_remote(
                region,
                layout,
                src["src_id"],
                src["src_batch_index"],
                src["src_tensors"],
                src["dst_tensors"],
                deadline.remaining_ms(),
            )
            endpoint.write(session, plan, deadline.remaining_ms())
        except BaseException:
            self._release(number)
            raise
        self.request({"op": "commit", "lease": number, "tensors": plan.tensors}, deadline)

    def ping(self, timeout_ms: int) -> None:
        self.request({"op": "ping"}, _Deadline(timeout_ms))


_PullTarget = tuple[int, int, int, Sequence[int], Sequence[int], bool, Sequence[int], Sequence[int]]


def _pull_target(dst: dict[str, Any], blocks: bool) -> _PullTarget:
    """The local half of a pull, in the order the core's pull calls take it."""
    return (
        dst["dst_id"], dst["batch_index"], dst["size"], dst["src_blocks"], dst["dst_blocks"],
        blocks, dst["src_tensors"], dst["dst_tensors"],
    )  # fmt: skip


def _local_ip_towards(ip: str) -> str:
    """This host's address on the route to `ip` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((ip, 9))
        return str(probe.getsockname()[0])


def _local_delay(operation: str) -> None:
    milliseconds = _core.operation_delay(operation)
    if milliseconds > 0:
        time.sleep(milliseconds / 1000)
