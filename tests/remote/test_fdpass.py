"""The shared-memory handshake's guards: only the listener's user gets its pools, and sockets of
dead listeners do not pile up."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from llm_datadist_ref._remote import fdpass


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """Unix socket paths are limited to 107 bytes: pytest's tmp_path can be longer."""
    directory = Path(tempfile.mkdtemp(prefix="ldr-", dir="/tmp"))
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


CONNECT = "import socket, sys, time; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(5)"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a process as another user")
def test_a_process_of_another_user_is_refused(short_dir: Path) -> None:
    short_dir.chmod(0o755)
    path = str(short_dir / "open.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o777)  # only the credential check stands between them
    server.listen(1)
    python = shutil.which("python3", path="/usr/local/bin:/usr/bin:/bin")  # one nobody may run
    assert python is not None
    child = subprocess.Popen([python, "-c", CONNECT, path], user=65534, cwd="/")
    try:
        server.settimeout(10)
        conn, _ = server.accept()
        with pytest.raises(fdpass.PeerRefused, match="uid 65534"):
            fdpass.check_same_user(conn)
        conn.close()
    finally:
        child.kill()
        child.wait()
        server.close()


def test_a_process_of_this_user_passes(short_dir: Path) -> None:
    path = str(short_dir / "own.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    child = subprocess.Popen([sys.executable, "-c", CONNECT, path])
    try:
        server.settimeout(10)
        conn, _ = server.accept()
        assert fdpass.check_same_user(conn) == child.pid
        conn.close()
    finally:
        child.kill()
        child.wait()
        server.close()


def test_sockets_of_dead_listeners_are_removed(
    monkeypatch: pytest.MonkeyPatch, short_dir: Path
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_dir))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    directory = short_dir / f"llm_datadist_ref-{os.getuid()}"
    directory.mkdir(mode=0o700)
    stale = directory / f"{int(dead.stdout)}-0123456789abcdef.sock"
    stale.touch()
    alive = directory / f"{os.getppid()}-fedcba9876543210.sock"
    alive.touch()
    server, path = fdpass.make_server()
    try:
        assert not stale.exists(), "a dead process's socket is removed"
        assert alive.exists(), "a live process's socket is kept"
        assert Path(path).parent == directory
    finally:
        server.close()
        os.unlink(path)
