"""Byte views of a cache: batch slices (blocks) of each tensor, read and written with ctypes."""

from __future__ import annotations

import ctypes
import math
from dataclasses import dataclass

from ._types import Cache, DataType, Placement

__all__ = ["View"]


@dataclass(frozen=True)
class View:
    """Where a cache's bytes are: a batch slice is the sub-tensor at one index of the batch dimension.

    With batch_dim_index d, a slice is ``prod(shape[:d])`` chunks of ``prod(shape[d+1:])``
    elements; its bytes are numbered in that order (one run when d = 0).
    """

    addrs: tuple[int, ...]
    shape: tuple[int, ...]
    batch_dim: int
    itemsize: int
    data_type: DataType
    placement: Placement

    @classmethod
    def of(cls, cache: Cache) -> View:
        desc = cache.cache_desc
        return cls(
            tuple(cache.tensor_addrs),
            tuple(desc.shape),
            desc.batch_dim_index,
            desc.data_type.itemsize,
            desc.data_type,
            desc.placement,
        )

    @property
    def num_tensors(self) -> int:
        return len(self.addrs)

    @property
    def batch(self) -> int:
        return self.shape[self.batch_dim]

    @property
    def _outer(self) -> int:
        return math.prod(self.shape[: self.batch_dim])

    @property
    def _inner(self) -> int:
        return math.prod(self.shape[self.batch_dim + 1 :]) * self.itemsize

    @property
    def slice_bytes(self) -> int:
        """Bytes of one batch slice (one block) of one tensor."""
        return self._outer * self._inner

    def _runs(self, index: int, offset: int, size: int) -> list[tuple[int, int]]:
        """(byte offset in the tensor, length) of bytes [offset, offset + size) of slice ``index``."""
        inner, runs = self._inner, list[tuple[int, int]]()
        if inner == 0:
            return runs
        position, end = offset, offset + size
        while position < end:
            chunk, within = divmod(position, inner)
            length = min(inner - within, end - position)
            runs.append(((chunk * self.batch + index) * inner + within, length))
            position += length
        return runs

    def read(self, tensor: int, index: int, offset: int, size: int) -> bytes:
        base = self.addrs[tensor]
        return b"".join(ctypes.string_at(base + at, n) for at, n in self._runs(index, offset, size))

    def write(self, tensor: int, index: int, offset: int, data: bytes) -> None:
        base, done = self.addrs[tensor], 0
        for at, n in self._runs(index, offset, len(data)):
            ctypes.memmove(base + at, data[done : done + n], n)
            done += n
