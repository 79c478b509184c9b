"""The test process's side of the peer RPC: the helper process and proxies of its objects.

A :class:`RemoteObject` stands for an object the helper holds. Attribute access, assignment
and method calls on it are requests to the helper, so the suite's transcript and checks use
it like a local object of the target. Exceptions the target raised there are raised here as
the same kind: the target's LLMException (a subclass carrying the status code), TypeError,
ValueError. Objects built here from target classes travel as their construction recipes
(:class:`Recipes`); the helper builds its own copy.
"""

from __future__ import annotations

import atexit
import builtins
import enum
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import ModuleType
from typing import Any

from .wire import Construct, EnumRef, Handle, Raised

__all__ = ["PeerError", "PeerProcess", "Recipes", "RemoteObject", "helper_for"]

#: How long one request may take before the helper is taken to be hung (and is stopped).
REPLY_TIMEOUT_S = 120.0
_PLAIN = (bool, int, float, str, bytes, type(None))


class PeerError(RuntimeError):
    """The helper process died, hung, or could not serve a request (never the target's error)."""


class Recipes:
    """How the test process built the target objects it may send to the helper."""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[Any, Construct]] = {}

    def remember(self, obj: Any, path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._by_id[id(obj)] = (obj, Construct(path, args, kwargs))  # obj kept: ids stay unique

    def recipe(self, obj: Any) -> Construct | None:
        entry = self._by_id.get(id(obj))
        return entry[1] if entry is not None and entry[0] is obj else None

    def clear(self) -> None:
        self._by_id.clear()


class RemoteObject:
    """An object of the target held by the helper process."""

    __slots__ = ("_handle", "_peer")

    def __init__(self, peer: PeerProcess, handle: Handle) -> None:
        object.__setattr__(self, "_peer", peer)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._peer.attribute(self._handle, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._peer.request("setattr", self._handle, name, value)

    def __repr__(self) -> str:
        return f"<{self._handle.type_name} #{self._handle.id} of peer process {self._peer.pid}>"


def remote_peer(obj: Any) -> PeerProcess | None:
    """The helper holding ``obj``, or None for a local object."""
    return obj._peer if isinstance(obj, RemoteObject) else None


class PeerProcess:
    """One helper process running ``impl`` with ``adapter`` (both as the suite loaded them)."""

    def __init__(self, module: ModuleType, adapter_spec: str) -> None:
        self.m = module
        self.recipes = Recipes()
        self._exceptions = _remote_exception_class(module)
        ours, theirs = socket.socketpair()
        environment = dict(os.environ)
        # The helper imports what this process can import (the runner's path, broken targets).
        environment["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datadist_conformance.peer",
                f"--impl={module.__name__}",
                f"--adapter={adapter_spec}",
                f"--fd={theirs.fileno()}",
            ],
            pass_fds=[theirs.fileno()],
            env=environment,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self._connection = Connection(ours.detach())
        self.pid = self.process.pid
        self._receive()  # "ready", or the helper's import error as a PeerError

    @property
    def alive(self) -> bool:
        return self.process.poll() is None and not self._connection.closed

    # -- requests -----------------------------------------------------------------------------

    def request(self, op: str, *args: Any) -> Any:
        """Send one request and return its decoded result; the target's exception is raised."""
        try:
            self._connection.send((op, *(self.encode(a) for a in args)))
        except (OSError, ValueError) as exc:
            self.stop()
            raise PeerError(f"the peer process {self.pid} is gone ({exc})") from exc
        return self._receive()

    def _receive(self) -> Any:
        try:
            if not self._connection.poll(REPLY_TIMEOUT_S):
                self.stop()
                raise PeerError(f"the peer process {self.pid} gave no reply in {REPLY_TIMEOUT_S} s")
            status, value = self._connection.recv()
        except (EOFError, OSError) as exc:
            code = self.process.poll()
            self.stop()
            raise PeerError(f"the peer process {self.pid} ended (exit status {code})") from exc
        if status == "ok":
            return self.decode(value)
        if status == "raised":
            raise self._exception(value)
        raise PeerError(f"the peer process could not serve the request:\n{value}")

    def attribute(self, handle: Handle, name: str) -> Any:
        kind = self.request("getattr", handle, name)
        if kind[0] == "method":
            return _RemoteMethod(self, handle, name)
        return kind[1]

    def construct(self, path: str) -> Callable[..., Any]:
        """``m.<path>`` of the helper, as a callable that builds the object there."""
        return lambda *args, **kwargs: self.request("new", path, args, kwargs)

    # -- values -------------------------------------------------------------------------------

    def encode(self, value: Any) -> Any:
        if isinstance(value, RemoteObject):
            if value._peer is not self:
                raise PeerError(f"{value!r} belongs to another peer process")
            return value._handle
        if isinstance(value, Handle):
            return value
        if isinstance(value, enum.Enum) and getattr(self.m, type(value).__name__, None) is type(
            value
        ):
            return EnumRef(type(value).__name__, value.name)
        if isinstance(value, _PLAIN):
            return value
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.encode(v) for v in value)
        if isinstance(value, dict):
            return {self.encode(k): self.encode(v) for k, v in value.items()}
        recipe = self.recipes.recipe(value)
        if recipe is None:
            raise PeerError(f"cannot send {value!r} to the peer process: not built by the suite")
        return Construct(recipe.path, self.encode(recipe.args), self.encode(recipe.kwargs))

    def decode(self, value: Any) -> Any:
        if isinstance(value, Handle):
            return RemoteObject(self, value)
        if isinstance(value, EnumRef):
            return getattr(getattr(self.m, value.type_name), value.member)
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.decode(v) for v in value)
        if isinstance(value, dict):
            return {self.decode(k): self.decode(v) for k, v in value.items()}
        return value

    def _exception(self, raised: Raised) -> BaseException:
        text = f"{raised.message} (raised in the peer process as {raised.type_name})"
        if raised.kind == "LLMException":
            return self._exceptions(text, _status(self.m, raised.status_code))
        if raised.kind != "other":
            return getattr(builtins, raised.kind)(text)  # type: ignore[no-any-return]
        return PeerCallError(f"{raised.type_name}: {text}")

    # -- bytes (the helper's adapter) ---------------------------------------------------------

    def read(self, cache: Any, tensor_index: int, offset: int, size: int) -> bytes:
        return bytes(self.request("read", cache, tensor_index, offset, size))

    def write(self, cache: Any, tensor_index: int, offset: int, data: bytes) -> None:
        self.request("write", cache, tensor_index, offset, bytes(data))

    # -- lifetime -----------------------------------------------------------------------------

    def forget(self) -> None:
        """End of a scenario: the helper drops its objects, this side its recipes."""
        self.recipes.clear()
        if self.alive:
            self.request("forget")

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                self._connection.send(("stop",))
                self.process.wait(timeout=10)
            except (OSError, ValueError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=10)
        if not self._connection.closed:
            self._connection.close()


class PeerCallError(RuntimeError):
    """The target raised, in the helper, an exception that is neither its own nor a builtin kind."""


class _RemoteMethod:
    def __init__(self, peer: PeerProcess, handle: Handle, name: str) -> None:
        self._peer, self._handle, self._name = peer, handle, name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._peer.request("call", self._handle, self._name, args, kwargs)


def _status(m: ModuleType, code: int | None) -> Any:
    if code is None:
        return None
    try:
        return m.LLMStatusCode(code)
    except ValueError:
        return code


def _remote_exception_class(m: ModuleType) -> Callable[[str, Any], BaseException]:
    base: type[BaseException] = m.LLMException

    class RemoteLLMException(base):  # type: ignore[valid-type, misc]
        """The target's LLMException, raised in the peer process."""

        def __init__(self, message: str, status: Any) -> None:
            RuntimeError.__init__(self, message)  # the target's own __init__ may differ
            self._remote_status = status

        @property
        def status_code(self) -> Any:
            return self._remote_status

    RemoteLLMException.__name__ = RemoteLLMException.__qualname__ = base.__name__
    return RemoteLLMException


_helpers: dict[tuple[str, str], PeerProcess] = {}


def helper_for(module: ModuleType, adapter_spec: str) -> PeerProcess:
    """The helper process of this target and adapter, started (again) when there is none."""
    key = (module.__name__, adapter_spec)
    helper = _helpers.get(key)
    if helper is None or not helper.alive:
        helper = _helpers[key] = PeerProcess(module, adapter_spec)
    return helper


@atexit.register
def _stop_helpers() -> None:
    for helper in _helpers.values():
        helper.stop()
    _helpers.clear()
