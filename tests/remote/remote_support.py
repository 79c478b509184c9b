"""Starting PROMPT and DECODER processes (tests/remote/peer.py) and talking to them."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from llm_datadist_ref import _core

PEER_SCRIPT = Path(__file__).with_name("peer.py")
REPLY_TIMEOUT_S = 30.0


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel picks it, so parallel runs differ)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PeerProcess:
    """One peer.py process; `call` sends a command and returns its reply."""

    def __init__(self, workdir: Path, prefix: tuple[str, ...] = ()) -> None:
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        environment.setdefault("GLOG_minloglevel", "2")  # Mooncake's INFO lines
        self.process = subprocess.Popen(
            [*prefix, sys.executable, str(PEER_SCRIPT)],
            cwd=workdir,  # any directory: the package comes from the environment, not the checkout
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        assert self._next()["ready"]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._replies.put(line)

    def _next(self, timeout: float = REPLY_TIMEOUT_S) -> dict[str, Any]:
        try:
            return json.loads(self._replies.get(timeout=timeout))  # type: ignore[no-any-return]
        except queue.Empty:
            raise AssertionError(
                f"peer process {self.process.pid} gave no reply in {timeout} s"
            ) from None

    def send(self, cmd: str, **arguments: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **arguments}) + "\n")
        self.process.stdin.flush()

    def reply(self, timeout: float = REPLY_TIMEOUT_S) -> dict[str, Any]:
        return self._next(timeout)

    def call(self, cmd: str, **arguments: Any) -> Any:
        self.send(cmd, **arguments)
        reply = self.reply()
        if not reply["ok"]:
            raise AssertionError(f"peer {cmd}({arguments}) failed: {reply}")
        return reply["result"]

    def call_failing(self, cmd: str, **arguments: Any) -> dict[str, Any]:
        self.send(cmd, **arguments)
        reply = self.reply()
        assert not reply["ok"], f"peer {cmd}({arguments}) was expected to fail, got {reply}"
        return reply

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("finalize")
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self.kill()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class Peers:
    """Every process a test started; all are ended when the test ends."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[PeerProcess] = []

    def start(self, prefix: tuple[str, ...] = ()) -> PeerProcess:
        """A peer process; `prefix` runs it through another command (``ip netns exec NS``)."""
        peer = PeerProcess(self.workdir, prefix)
        self.started.append(peer)
        return peer

    def prompt(
        self,
        cluster_id: int,
        port: int,
        timeout: int = 1000,
        remote: bool = False,
        transport: str = "auto",
        ip: str = "127.0.0.1",
        prefix: tuple[str, ...] = (),
        pool: str | None = None,
    ) -> PeerProcess:
        peer = self.start(prefix)
        listen = f"{ip}:{port}"
        pool_option = {} if pool is None else {"pool": pool}
        peer.call("init", role="PROMPT", cluster_id=cluster_id, listen=listen, timeout=timeout,
                  remote=remote, transport=transport, **pool_option)  # fmt: skip
        return peer

    def decoder(
        self,
        cluster_id: int,
        timeout: int = 1000,
        remote: bool = False,
        transport: str = "auto",
        prefix: tuple[str, ...] = (),
    ) -> PeerProcess:
        peer = self.start(prefix)
        peer.call("init", role="DECODER", cluster_id=cluster_id, listen=None, timeout=timeout,
                  remote=remote, transport=transport)  # fmt: skip
        return peer

    def close(self) -> None:
        for peer in self.started:
            peer.close()


def no_mailbox(monkeypatch: pytest.MonkeyPatch) -> None:
    """Links made from now on in this process get no mailbox: every lease goes over the socket."""
    monkeypatch.setattr(_core, "MailboxClient", lambda *_args: None)
