"""Adapters with fewer capabilities than the default, for the meta-tests of untestable clauses."""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

from datadist_conformance.adapter import Adapter


class NoBytesAdapter(Adapter):
    """Peers, but no way to read or write tensor bytes (as on a device the suite cannot map).

    Its byte methods raise, so a template that reads bytes without declaring ``bytes`` in its
    kind's ``requires`` errors instead of passing.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"peer"})

    def read(self, cache: Any, tensor_index: int, offset: int, size: int) -> bytes:
        _no_bytes()

    def write(self, cache: Any, tensor_index: int, offset: int, data: bytes) -> None:
        _no_bytes()

    def host_buffer(self, nbytes: int) -> Any:
        _no_bytes()


def _no_bytes() -> NoReturn:
    raise NotImplementedError("this adapter has no bytes capability")
