"""The helper process: imports the target with its adapter and serves the suite's requests.

Started by `client` as ``python -m datadist_conformance.peer --impl M --adapter A --fd N``;
``N`` is its end of a socket pair. Each request is one tuple, each reply ``("ok", value)``,
``("raised", Raised)`` (the target raised) or ``("broken", text)`` (the request itself was
wrong: a bug of the suite, never of the target).
"""

from __future__ import annotations

import argparse
import builtins
import enum
import os
import traceback
from multiprocessing.connection import Connection
from typing import Any

from ..target import Target, load_target
from .wire import Construct, EnumRef, Handle, Raised

__all__ = ["Server", "main"]

_PLAIN = (bool, int, float, str, bytes, type(None))
#: Builtin exception types reported by name (the first that matches), after the target's own.
_BUILTIN_KINDS = ("TypeError", "ValueError", "AttributeError", "KeyError", "IndexError")


class Server:
    """The objects the helper holds for the test process, and the requests on them."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.m = target.module
        self.objects: dict[int, Any] = {}
        self._next_id = 1

    # -- values -------------------------------------------------------------------------------

    def decode(self, value: Any) -> Any:
        if isinstance(value, Handle):
            return self.objects[value.id]
        if isinstance(value, EnumRef):
            return getattr(getattr(self.m, value.type_name), value.member)
        if isinstance(value, Construct):
            return self._resolve(value.path)(*self.decode(value.args), **self.decode(value.kwargs))
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.decode(v) for v in value)
        if isinstance(value, dict):
            return {self.decode(k): self.decode(v) for k, v in value.items()}
        return value

    def encode(self, value: Any) -> Any:
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
        handle = Handle(self._next_id, type(value).__name__)
        self._next_id += 1
        self.objects[handle.id] = value
        return handle

    def raised(self, exc: BaseException) -> Raised:
        status = getattr(exc, "status_code", None)
        if isinstance(exc, self.m.LLMException):
            kind = "LLMException"
        else:
            kind = next(
                (n for n in _BUILTIN_KINDS if isinstance(exc, getattr(builtins, n))), "other"
            )
        return Raised(kind, type(exc).__name__, None if status is None else int(status), str(exc))

    def _resolve(self, path: str) -> Any:
        value: Any = self.m
        for part in path.split("."):
            value = getattr(value, part)
        return value

    # -- requests -----------------------------------------------------------------------------

    def handle(self, request: tuple[Any, ...]) -> tuple[str, Any]:
        op, *args = request
        try:
            perform = getattr(self, f"op_{op}")
            arguments = self.decode(tuple(args))
        except Exception:
            return ("broken", traceback.format_exc())
        try:
            return ("ok", self.encode(perform(*arguments)))
        except Exception as exc:  # the target's exception travels back to the test process
            return ("raised", self.raised(exc))

    def op_new(self, path: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return self._resolve(path)(*args, **kwargs)

    def op_call(self, obj: Any, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return getattr(obj, method)(*args, **kwargs)

    def op_getattr(self, obj: Any, name: str) -> Any:
        value = getattr(obj, name)
        return ("method",) if callable(value) and not isinstance(value, type) else ("value", value)

    def op_setattr(self, obj: Any, name: str, value: Any) -> None:
        setattr(obj, name, value)

    def op_link(self, decoder: Any, cluster_id: int, address: tuple[str, int]) -> None:
        self.target.adapter.link(decoder, cluster_id, address)

    def op_unlink(self, decoder: Any, cluster_id: int, address: tuple[str, int]) -> None:
        self.target.adapter.unlink(decoder, cluster_id, address)

    def op_read(self, cache: Any, tensor: int, offset: int, size: int) -> bytes:
        return self.target.adapter.read(cache, tensor, offset, size)

    def op_write(self, cache: Any, tensor: int, offset: int, data: bytes) -> None:
        self.target.adapter.write(cache, tensor, offset, data)

    def op_forget(self) -> None:
        """Drop every object held for the test process (at the end of a scenario)."""
        self.objects.clear()

    def op_ping(self) -> int:
        return os.getpid()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m datadist_conformance.peer")
    parser.add_argument("--impl", required=True)
    parser.add_argument("--adapter", required=True)
    parser.add_argument("--fd", type=int, required=True)
    args = parser.parse_args(argv)
    connection = Connection(args.fd)
    try:
        server = Server(load_target(args.impl, args.adapter))
    except Exception:
        connection.send(("broken", traceback.format_exc()))
        return
    connection.send(("ok", "ready"))
    while True:
        try:
            request = connection.recv()
        except EOFError:  # the test process went away
            return
        if request == ("stop",):
            connection.send(("ok", None))
            return
        connection.send(server.handle(request))
