"""The byte-access part of a scenario: caches with a layout the suite knows, and their bytes.

Caches are allocated through the target's API; their bytes are written and read through the
adapter (or through the helper process that holds a cache), never through the API under test.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import replay
from .adapter import HostBuffer
from .checks import Checker, PreconditionError, describe, require
from .peer.client import remote_peer

if TYPE_CHECKING:
    from .engines import Engine
    from .names import TargetNames
    from .target import Target

__all__ = ["Cache", "Caches", "Layout"]


@dataclass(frozen=True)
class Layout:
    """How a cache's bytes are arranged: num_tensors tensors, batch slices along dimension 0."""

    num_tensors: int
    shape: tuple[int, ...]
    itemsize: int

    @property
    def tensor_bytes(self) -> int:
        return math.prod(self.shape) * self.itemsize

    @property
    def batch(self) -> int:
        return self.shape[0]

    @property
    def slice_bytes(self) -> int:
        """Bytes of one batch index (one block of a blocks cache) in one tensor."""
        return self.tensor_bytes // self.batch


@dataclass
class Cache:
    """A cache of the target with the layout the suite gave it."""

    raw: Any
    layout: Layout


@dataclass
class Caches:
    """Allocates caches (DEVICE, blocks, HOST over suite-owned memory) and fills and reads
    their bytes through the adapter."""

    target: Target
    names: TargetNames
    checker: Checker
    buffers: list[HostBuffer] = field(default_factory=list)  #: suite-owned memory of HOST caches
    last_read: Cache | None = None  #: the cache read last, for a replay's byte check

    def allocate(
        self,
        engine: Engine,
        layout: Layout,
        keys: Sequence[Any] = (),
        *,
        dtype: str = "DT_UINT8",
        placement: str = "DEVICE",
        checked: bool = False,
    ) -> Cache:
        """allocate_cache; a failure is a PreconditionError unless ``checked`` (then a failure)."""
        desc = self.names.desc(layout, dtype, placement)
        call = self.checker.expect_ok if checked else self.checker.setup
        return Cache(call(engine.cache_manager, "allocate_cache", desc, list(keys)), layout)

    def allocate_blocks(
        self,
        engine: Engine,
        layout: Layout,
        blocks_key: Any = None,
        *,
        dtype: str = "DT_UINT8",
        checked: bool = False,
    ) -> Cache:
        desc = self.names.desc(layout, dtype, "DEVICE")
        call = self.checker.expect_ok if checked else self.checker.setup
        args = (desc,) if blocks_key is None else (desc, blocks_key)
        return Cache(call(engine.cache_manager, "allocate_blocks_cache", *args), layout)

    def cpu_cache(self, layout: Layout, dtype: str = "DT_UINT8") -> Cache:
        """A HOST cache over suite-owned memory (Cache.create_cpu_cache), for swap_blocks."""
        require(self.target, "bytes", "a HOST cache over suite-owned memory")
        t = self.names.t
        addresses = []
        for _ in range(layout.num_tensors):
            buffer = self.target.adapter.host_buffer(layout.tensor_bytes)
            self.buffers.append(buffer)
            name = t.name(buffer, "buf")
            t.add(f"{name} = adapter.host_buffer({layout.tensor_bytes})")
            t.bind(buffer.address, f"{name}.address")
            addresses.append(buffer.address)
        desc = self.names.desc(layout, dtype, "HOST")
        cache_class = self.names.m.Cache
        raw = t.invoke("m.Cache.create_cpu_cache", cache_class.create_cpu_cache, (desc, addresses))
        return Cache(raw, layout)

    def fill(self, cache: Cache, seed: int) -> list[bytearray]:
        """Write a distinct pattern into every tensor; returns the model of its bytes."""
        require(self.target, "bytes", "writing tensor bytes")
        t = self.names.t
        layout = cache.layout
        writer = "peer" if remote_peer(cache.raw) else "adapter"
        t.add(
            f"replay.fill({writer}, {t.render(cache.raw)}, {layout.tensor_bytes}, {layout.num_tensors}, {seed})"
        )
        try:
            written = replay.fill(
                self._bytes(cache.raw), cache.raw, layout.tensor_bytes, layout.num_tensors, seed
            )
        except Exception as exc:
            raise PreconditionError(
                "writing a cache through the adapter", describe(exc), t.source()
            ) from exc
        return [bytearray(data) for data in written]

    def read(self, cache: Cache) -> list[bytes]:
        """The current bytes of every tensor of ``cache``."""
        require(self.target, "bytes", "reading tensor bytes")
        layout = cache.layout
        access = self._bytes(cache.raw)
        self.last_read = cache
        try:
            return [
                access.read(cache.raw, t, 0, layout.tensor_bytes) for t in range(layout.num_tensors)
            ]
        except Exception as exc:
            raise PreconditionError(
                "reading a cache through the adapter", describe(exc), self.names.t.source()
            ) from exc

    def bytes_condition(
        self,
        cache: Cache,
        wanted: Sequence[bytes | bytearray],
        start: int = 0,
        skip: tuple[int, int] = (0, 0),
    ) -> str:
        """Python, for a replay check, that is true when the tensors of ``cache``, less the
        bytes ``skip`` spans and from ``start`` on, are ``wanted`` (so cut already): the bytes
        when short, else their digest."""
        access = "peer" if remote_peer(cache.raw) else "adapter"
        layout = cache.layout
        read = (
            f"replay.tensors({access}, {self.names.t.render(cache.raw)}, {layout.tensor_bytes}, "
            f"{layout.num_tensors})"
        )
        plain = [bytes(w) for w in wanted]
        low, high = skip
        if high > low:
            read = f"[t[:{low}] + t[{high}:] for t in {read}]"
        if start:
            read = f"[t[{start}:] for t in {read}]"
        if sum(map(len, plain)) <= 64:
            return f"{read} == {plain!r}"
        return f"replay.digest({read}) == {replay.digest(plain)!r}"

    def _bytes(self, raw: Any) -> Any:
        """Who reads and writes the bytes of ``raw``: the adapter, or the helper holding it."""
        return remote_peer(raw) or self.target.adapter
