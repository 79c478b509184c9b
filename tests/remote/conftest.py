"""Fixtures of the cross-process tests: the processes a test starts, ended when it ends."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib adds none

from remote_support import Peers, no_mailbox

from llm_datadist_ref._remote.link import RemoteLink


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[Peers]:
    started = Peers(tmp_path)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(params=["mailbox", "socket"])
def data_plane(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The path of a same-host lease and commit in this (the DECODER's) process: the listener's
    mailbox, or the control socket (what a cache with more tensors than the mailbox takes). On
    the mailbox's path, no lease may have gone over the socket."""
    if request.param == "socket":
        no_mailbox(monkeypatch)
        yield "socket"
        return
    sent: list[str] = []
    over_socket = RemoteLink.request

    def recording(self: RemoteLink, message: dict[str, Any], deadline: Any) -> dict[str, Any]:
        sent.append(message["op"])
        return over_socket(self, message, deadline)

    monkeypatch.setattr(RemoteLink, "request", recording)
    yield "mailbox"
    leases = [op for op in sent if op.startswith("lease")]
    assert not leases, f"same-host transfers went over the control socket, not the mailbox: {sent}"
