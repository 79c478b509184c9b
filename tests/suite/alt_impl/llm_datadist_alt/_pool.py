"""A memory pool: one anonymous mapping carved into page-aligned regions (first fit).

The pool spans exactly ``memory_size`` bytes starting at an address aligned to
``page_size``. Every region starts on a page boundary and reserves whole pages,
except that the last region of the pool may end at ``memory_size`` itself when
that is not a page multiple.
"""

from __future__ import annotations

import bisect
import ctypes
import mmap
import sys

__all__ = ["MemoryPool", "PoolExhausted"]

#: Linux MAP_NORESERVE (not exported by the mmap module before Python 3.13's docs list it).
_MAP_NORESERVE = getattr(mmap, "MAP_NORESERVE", 0x4000 if sys.platform.startswith("linux") else 0)


class PoolExhausted(Exception):
    """No free range of the pool can hold the request."""


class MemoryPool:
    """``memory_size`` bytes of host memory handed out in page-aligned regions."""

    def __init__(self, memory_size: int, page_shift: int) -> None:
        self.memory_size = memory_size
        self.page_size = 1 << page_shift
        flags = mmap.MAP_PRIVATE | getattr(mmap, "MAP_ANONYMOUS", 0x20) | _MAP_NORESERVE
        self._map = mmap.mmap(-1, memory_size + self.page_size, flags=flags)
        self._anchor = ctypes.c_char.from_buffer(self._map)  # keeps the mapping exported and alive
        raw = ctypes.addressof(self._anchor)
        self.base = -(-raw // self.page_size) * self.page_size
        self._free: list[tuple[int, int]] = [(0, memory_size)]  # sorted, disjoint [start, end)

    def _round(self, nbytes: int) -> int:
        return -(-max(nbytes, 1) // self.page_size) * self.page_size

    def region_size(self, tensor_bytes: int, count: int) -> tuple[int, int]:
        """(stride, bytes) of a region holding ``count`` tensors, each on its own pages."""
        stride = self._round(tensor_bytes)
        return stride, (count - 1) * stride + max(tensor_bytes, 1)

    def allocate(self, nbytes: int) -> int:
        """Offset of a new region of ``nbytes``; PoolExhausted when none fits."""
        for i, (start, end) in enumerate(self._free):
            if start + nbytes <= end:
                taken = min(start + self._round(nbytes), end)
                if taken == end:
                    del self._free[i]
                else:
                    self._free[i] = (taken, end)
                return start
        raise PoolExhausted(f"no free range of {nbytes} bytes in a pool of {self.memory_size}")

    def release(self, offset: int, nbytes: int) -> None:
        """Return the region at ``offset`` (of ``nbytes``, as allocated) to the pool."""
        end = min(offset + self._round(nbytes), self.memory_size)
        i = bisect.bisect_left(self._free, (offset, end))
        if i > 0 and self._free[i - 1][1] == offset:
            offset = self._free[i - 1][0]
            i -= 1
            del self._free[i]
        if i < len(self._free) and self._free[i][0] == end:
            end = self._free[i][1]
            del self._free[i]
        self._free.insert(i, (offset, end))

    def address(self, offset: int) -> int:
        return self.base + offset

    @property
    def free_bytes(self) -> int:
        return sum(end - start for start, end in self._free)
