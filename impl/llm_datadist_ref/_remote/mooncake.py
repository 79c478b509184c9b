"""The cross-host data plane: Mooncake Transfer Engine (the optional extra
``pip install 'datadist-conformance[mooncake]'``, PyPI ``mooncake-transfer-engine-non-cuda``, which
needs the Debian package libibverbs1 even for TCP).

Each engine that takes part registers its pools with one TransferEngine (P2P handshake: no
metadata server). The listener tells a linking peer its TransferEngine's session and pool bases;
the peer then reads (pull) or writes (push) the leased spans with batch transfers, RDMA where the
machine has RDMA devices and TCP otherwise. A transfer runs on a worker thread so the caller's
sync_kv_timeout bounds it; the plan it holds pins the local cache until the transfer ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from .. import _core
from .._status import LLMException, LLMStatusCode
from .transport import MOONCAKE_EXTRA

__all__ = ["MooncakeEndpoint", "mooncake_available", "protocol"]

PROTOCOL_OPTION = "llm_datadist_ref.mooncake_protocol"


def mooncake_available() -> bool:
    try:
        import mooncake.engine  # noqa: F401
    except ImportError:  # not installed, or libibverbs1 missing (the import fails without it)
        return False
    return True


def protocol(options: dict[str, str] | None = None) -> str:
    """``rdma`` when this machine has RDMA devices, else ``tcp``; the init option overrides."""
    chosen = (options or {}).get(PROTOCOL_OPTION) or os.environ.get(
        "LLM_DATADIST_REF_MOONCAKE_PROTOCOL"
    )
    if chosen:
        return chosen
    devices = Path("/sys/class/infiniband")
    return "rdma" if devices.is_dir() and any(devices.iterdir()) else "tcp"


def _missing(why: str) -> LLMException:
    return LLMException(
        f"the cross-host transport needs the Mooncake Transfer Engine extra ({MOONCAKE_EXTRA}; "
        f"Debian libibverbs1): {why}",
        status_code=LLMStatusCode.LLM_LINK_FAILED,
    )


class MooncakeEndpoint:
    """One TransferEngine of this process for one LLMDataDist, with its pools registered."""

    def __init__(self, engine: _core.Engine, host_ip: str, transport_protocol: str) -> None:
        try:
            from mooncake.engine import TransferEngine
        except ImportError as error:
            raise _missing(str(error)) from None
        self._engine: Any = TransferEngine()
        if self._engine.initialize(host_ip, "P2PHANDSHAKE", transport_protocol, "") != 0:
            raise _missing(f"TransferEngine.initialize({host_ip!r}, {transport_protocol!r}) failed")
        self.session = f"{host_ip}:{self._engine.get_rpc_port()}"
        self.pools: dict[int, tuple[int, int]] = {}
        for placement in (0, 1):
            region = engine.pool_region(placement)
            if region is None:
                continue
            if self._engine.register_memory(region[0], region[1]) != 0:
                raise _missing(f"register_memory of a {region[1]} B pool failed")
            self.pools[placement] = region
        self._workers = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="llm_datadist_ref-mooncake"
        )
        self._lock = threading.Lock()

    def read(self, session: str, plan: _core.RemotePlan, timeout_ms: int) -> None:
        self._run(self._engine.batch_transfer_sync_read, session, plan, timeout_ms)

    def write(self, session: str, plan: _core.RemotePlan, timeout_ms: int) -> None:
        self._run(self._engine.batch_transfer_sync_write, session, plan, timeout_ms)

    def _run(
        self, transfer: Callable[..., int], session: str, plan: _core.RemotePlan, timeout_ms: int
    ) -> None:
        spans = plan.spans
        local = [s[0] for s in spans]
        remote = [s[1] for s in spans]
        lengths = [s[2] for s in spans]

        def run() -> int:
            try:
                return transfer(session, local, remote, lengths)
            finally:
                plan.release()  # the local cache may be freed only once the engine is done

        future = self._workers.submit(run)
        try:
            status = future.result(timeout=max(timeout_ms, 1) / 1000)
        except FutureTimeout:
            raise LLMException(
                f"the transfer with {session} did not finish within the timeout",
                status_code=LLMStatusCode.LLM_TIMEOUT,
            ) from None
        if status != 0:
            raise LLMException(
                f"the Mooncake transfer with {session} failed (status {status})",
                status_code=LLMStatusCode.LLM_FAILED,
            )

    def close(self) -> None:
        self._workers.shutdown(wait=True)
        for base, _bytes in self.pools.values():
            self._engine.unregister_memory(base)
        self.pools.clear()
