"""The CacheManager: pools, the cache registry with its two kinds of references, data movement.

Every method validates its arguments first (TypeError / ValueError), then, under
the process-wide state lock, checks its deadline (``sync_kv_timeout``; the
adapter's injected delay is slept just before) and only then looks at and
changes state, so a call that times out has no effect at all.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from . import _faults
from ._layout import View
from ._pool import MemoryPool, PoolExhausted
from ._status import LLMException, LLMStatusCode
from ._types import BlocksCacheKey, Cache, CacheDesc, CacheKey, CacheKeyByIdAndIndex, Placement
from ._validate import (
    INT64_MAX,
    UINT32_MAX,
    UINT64_MAX,
    check_instance,
    check_int,
    check_int_sequence,
    check_sequence,
    type_name,
)

__all__ = ["LEGACY", "STATE_LOCK", "TRANSFER", "CacheManager"]

#: Feature sets of the product support table (spec/products.yaml).
LEGACY = "legacy-cache-manager"
TRANSFER = "cache-manager"

#: One lock for every engine of the process: pulls touch two engines at once.
STATE_LOCK = threading.RLock()

_cache_ids = itertools.count(1)
_TRANSFER_OPTIONS = frozenset({"src_layer_range", "dst_layer_range", "tensor_num_per_layer"})

S = LLMStatusCode


@dataclass(eq=False)
class _Entry:
    """A live cache of this manager and the references that keep it."""

    cache: Cache
    view: View
    pool: MemoryPool
    offset: int
    nbytes: int
    id_held: bool = True
    keys: dict[CacheKey, int] = field(default_factory=dict)  #: key -> batch index
    pulled: dict[CacheKey, set[int]] = field(default_factory=dict)  #: tensors pulled so far
    blocks_key: BlocksCacheKey | None = None


def _check_size(name: str, value: Any) -> int:
    size = check_int(name, value, -1, INT64_MAX)
    if size == 0:
        raise ValueError(f"{name} must be -1 or > 0, got 0")
    return size


def _check_block_map(name: str, value: Any, *, many: bool) -> dict[int, list[int]]:
    if not isinstance(value, dict):
        raise TypeError(f"{name} must be a dict, got {type_name(value)}")
    result: dict[int, list[int]] = {}
    for key, target in value.items():
        source = check_int(f"{name} key", key, 0, UINT32_MAX)
        if many:
            result[source] = check_int_sequence(f"{name}[{key}]", target, 0, UINT32_MAX)
        else:
            result[source] = [check_int(f"{name}[{key}]", target, 0, UINT32_MAX)]
    return result


def _transfer_options(kwargs: Mapping[str, Any]) -> tuple[range | None, range | None, int]:
    unknown = set(kwargs) - _TRANSFER_OPTIONS
    if unknown:
        raise TypeError(f"unexpected keyword arguments {sorted(unknown)}")
    ranges = []
    for name in ("src_layer_range", "dst_layer_range"):
        value = kwargs.get(name)
        if value is not None and not isinstance(value, range):
            raise TypeError(f"{name} must be a range or None, got {type_name(value)}")
        if value is not None and value.step != 1:
            raise ValueError(f"{name} must have step 1")
        ranges.append(value)
    per_layer = check_int(
        "tensor_num_per_layer", kwargs.get("tensor_num_per_layer", 2), 1, UINT32_MAX
    )
    return ranges[0], ranges[1], per_layer


def _tensor_pairs(
    src_layers: range | None, dst_layers: range | None, per_layer: int, src: View, dst: View
) -> list[tuple[int, int]]:
    """(source tensor, destination tensor) pairs; all tensors when no layer range is given."""
    if src_layers is None and dst_layers is None:
        if src.num_tensors != dst.num_tensors:
            raise ValueError(f"tensor counts differ: {src.num_tensors} and {dst.num_tensors}")
        return [(t, t) for t in range(src.num_tensors)]
    src_layers = src_layers if src_layers is not None else dst_layers
    dst_layers = dst_layers if dst_layers is not None else src_layers
    assert src_layers is not None
    assert dst_layers is not None
    if len(src_layers) != len(dst_layers) or len(src_layers) == 0:
        raise ValueError("src_layer_range and dst_layer_range must have the same, non-zero length")
    pairs = [
        (s * per_layer + j, d * per_layer + j)
        for s, d in zip(src_layers, dst_layers, strict=False)
        for j in range(per_layer)
    ]
    if any(not (0 <= s < src.num_tensors and 0 <= d < dst.num_tensors) for s, d in pairs):
        raise ValueError("a layer range reaches outside the caches' tensors")
    return pairs


class CacheManager:
    """The CacheManager of one engine; reached through ``LLMDataDist.cache_manager``."""

    def __init__(
        self,
        engine: Any,
        pools: Mapping[Placement, MemoryPool],
        features: frozenset[str],
        timeout_ms: int,
    ) -> None:
        self._engine = engine
        self._pools = dict(pools)
        self._features = features
        self._timeout_ms = timeout_ms
        self._finalized = False
        self._entries: dict[int, _Entry] = {}
        self._keys: dict[CacheKey, tuple[int, int]] = {}  #: key -> (cache_id, batch index)
        self._blocks_keys: dict[BlocksCacheKey, int] = {}

    # -- call protocol ----------------------------------------------------------------------------

    def _begin(self, feature: str) -> float:
        start = time.monotonic()
        if self._finalized:
            raise LLMException("the engine was finalized", status_code=S.LLM_ENGINE_FINALIZED)
        if feature not in self._features:
            raise LLMException(
                "this product line does not support the CacheManager feature set " + feature,
                status_code=S.LLM_FEATURE_NOT_ENABLED,
            )
        return start

    @contextmanager
    def _commit(self, operation: str, start: float) -> Iterator[None]:
        _faults.sleep_for(operation)
        with STATE_LOCK:
            if self._finalized:
                raise LLMException("the engine was finalized", status_code=S.LLM_ENGINE_FINALIZED)
            elapsed_ms = (time.monotonic() - start) * 1000
            if elapsed_ms > self._timeout_ms:
                raise LLMException(
                    f"{operation} took {elapsed_ms:.0f} ms, over sync_kv_timeout {self._timeout_ms} ms",
                    status_code=S.LLM_TIMEOUT,
                )
            yield

    def _finalize(self) -> None:
        with STATE_LOCK:
            self._finalized = True
            self._entries.clear()
            self._keys.clear()
            self._blocks_keys.clear()
            self._pools.clear()

    # -- registry ---------------------------------------------------------------------------------

    def _own_entry(self, cache: Cache) -> _Entry | None:
        entry = self._entries.get(cache.cache_id)
        return entry if entry is not None and entry.cache is cache else None

    def _live_view(self, cache: Cache, name: str) -> View:
        """The bytes of a cache this call may use: a live cache of this manager, or a cpu cache."""
        owner: object = cache._owner
        if owner is None:
            return View.of(cache)
        if owner is not self:
            raise LLMException(f"{name} belongs to another engine", status_code=S.LLM_PARAM_INVALID)
        entry = self._own_entry(cache)
        if entry is None or not entry.id_held:
            raise LLMException(f"{name} was deallocated", status_code=S.LLM_KV_CACHE_NOT_EXIST)
        return entry.view

    def _allocate(self, desc: CacheDesc, is_blocks: bool) -> _Entry:
        pool = self._pools.get(desc.placement)
        if pool is None:
            option = "host_mem_pool_cfg" if desc.placement == Placement.HOST else "mem_pool_cfg"
            raise LLMException(
                f"no memory pool for {desc.placement}: configure {option} first",
                status_code=S.LLM_PARAM_INVALID,
            )
        stride, nbytes = pool.region_size(desc.size, desc.num_tensors)
        try:
            offset = pool.allocate(nbytes)
        except PoolExhausted as exc:
            raise LLMException(str(exc), status_code=S.LLM_OUT_OF_MEMORY) from None
        addrs = [pool.address(offset + i * stride) for i in range(desc.num_tensors)]
        cache = Cache(next(_cache_ids), desc, addrs, is_blocks)
        cache._owner, cache._keepalive = self, pool
        entry = _Entry(cache, View.of(cache), pool, offset, nbytes)
        self._entries[cache.cache_id] = entry
        return entry

    def _release_if_unreferenced(self, entry: _Entry) -> None:
        if entry.id_held or entry.keys:
            return
        del self._entries[entry.cache.cache_id]
        if entry.blocks_key is not None:
            self._blocks_keys.pop(entry.blocks_key, None)
        entry.pool.release(entry.offset, entry.nbytes)

    def _unbind(self, key: CacheKey) -> None:
        where = self._keys.pop(key, None)
        if where is None:
            return
        entry = self._entries[where[0]]
        del entry.keys[key]
        entry.pulled.pop(key, None)
        self._release_if_unreferenced(entry)

    def _source(self, key: CacheKey | CacheKeyByIdAndIndex) -> tuple[_Entry, int]:
        """The prompt-side cache and batch index a key names (LLM_KV_CACHE_NOT_EXIST if none)."""
        if isinstance(key, CacheKey):
            where = self._keys.get(key)
            if where is not None:
                return self._entries[where[0]], where[1]
        else:
            entry = self._entries.get(key.cache_id)
            if entry is not None and key.batch_index < entry.view.batch:
                return entry, key.batch_index
        raise LLMException(
            f"{key!r} names no cache of cluster {self._engine.cluster_id}",
            status_code=S.LLM_KV_CACHE_NOT_EXIST,
        )

    def _peer(self, cluster_id: int) -> CacheManager:
        manager: CacheManager = self._engine._linked_manager(cluster_id)
        if manager._finalized:
            raise LLMException(
                f"cluster {cluster_id} was finalized", status_code=S.LLM_NOT_YET_LINK
            )
        return manager

    # -- allocation and references ----------------------------------------------------------------

    def allocate_cache(
        self, cache_desc: CacheDesc, cache_keys: tuple[CacheKey, ...] | list[CacheKey] = ()
    ) -> Cache:
        """Allocate a cache referenced by its cache_id and by each non-placeholder key."""
        start = self._begin(LEGACY)
        desc = check_instance("cache_desc", cache_desc, CacheDesc)
        keys = check_sequence("cache_keys", cache_keys, lambda n, v: check_instance(n, v, CacheKey))
        if len(keys) > desc.batch_size:
            raise LLMException(
                f"{len(keys)} cache_keys for a batch size of {desc.batch_size}",
                status_code=S.LLM_PARAM_INVALID,
            )
        bindings: dict[CacheKey, int] = {}
        for index, key in enumerate(keys):
            if not key.is_placeholder:
                bindings[key] = index  # a later duplicate overrides: the last one takes effect
        with self._commit("allocate_cache", start):
            bound = [key for key in bindings if key in self._keys]
            if bound:
                raise LLMException(
                    f"{bound[0]!r} is already bound to a cache", status_code=S.LLM_PARAM_INVALID
                )
            entry = self._allocate(desc, False)
            entry.keys = bindings
            for key, index in bindings.items():
                self._keys[key] = (entry.cache.cache_id, index)
            return entry.cache

    def deallocate_cache(self, cache: Cache) -> None:
        """Release the cache_id reference; the memory goes once no key refers to the cache."""
        self._release_id("deallocate_cache", cache)

    def deallocate_blocks_cache(self, cache: Cache) -> None:
        """Release a blocks cache (it has no key references, so its memory goes at once)."""
        self._release_id("deallocate_blocks_cache", cache)

    def _release_id(self, operation: str, cache: Cache) -> None:
        start = self._begin(LEGACY)
        check_instance("cache", cache, Cache)
        with self._commit(operation, start):
            entry = self._own_entry(cache)
            if entry is None or not entry.id_held:
                return
            entry.id_held = False
            self._release_if_unreferenced(entry)

    def remove_cache_key(self, cache_key: CacheKey) -> None:
        """Unbind a key; the cache can no longer be pulled by it. Absent keys: no-op."""
        start = self._begin(LEGACY)
        key = check_instance("cache_key", cache_key, CacheKey)
        with self._commit("remove_cache_key", start):
            self._unbind(key)

    def allocate_blocks_cache(
        self, cache_desc: CacheDesc, blocks_cache_key: BlocksCacheKey | None = None
    ) -> Cache:
        """Allocate a blocks cache; block i of each tensor is batch index i."""
        start = self._begin(LEGACY)
        desc = check_instance("cache_desc", cache_desc, CacheDesc)
        if blocks_cache_key is not None:
            check_instance("blocks_cache_key", blocks_cache_key, BlocksCacheKey)
        with self._commit("allocate_blocks_cache", start):
            if blocks_cache_key is not None and blocks_cache_key in self._blocks_keys:
                raise LLMException(
                    f"{blocks_cache_key!r} is already bound", status_code=S.LLM_PARAM_INVALID
                )
            entry = self._allocate(desc, True)
            if blocks_cache_key is not None:
                entry.blocks_key = blocks_cache_key
                self._blocks_keys[blocks_cache_key] = entry.cache.cache_id
            return entry.cache

    # -- local data movement ----------------------------------------------------------------------

    def copy_cache(
        self,
        dst: Cache,
        src: Cache,
        dst_batch_index: int = 0,
        src_batch_index: int = 0,
        offset: int = 0,
        size: int = -1,
        req_id: int | None = None,
    ) -> None:
        """In every tensor, copy ``size`` bytes at ``offset`` of src's batch slice into dst's.

        offset and size count within the batch slice; size -1 copies the rest of the
        source slice from offset on.
        """
        start = self._begin(LEGACY)
        check_instance("dst", dst, Cache)
        check_instance("src", src, Cache)
        dst_index = check_int("dst_batch_index", dst_batch_index, 0, UINT32_MAX)
        src_index = check_int("src_batch_index", src_batch_index, 0, UINT32_MAX)
        offset = check_int("offset", offset, 0, INT64_MAX)
        size = _check_size("size", size)
        if req_id is not None:
            check_int("req_id", req_id, 0, UINT64_MAX)
        with self._commit("copy_cache", start):
            d, s = self._live_view(dst, "dst"), self._live_view(src, "src")
            if d.num_tensors != s.num_tensors or d.data_type != s.data_type:
                raise ValueError(
                    "the CacheDesc of src and dst do not match (num_tensors, data_type)"
                )
            if src_index >= s.batch or dst_index >= d.batch:
                raise ValueError(f"batch index out of range (src {s.batch}, dst {d.batch})")
            count = s.slice_bytes - offset if size == -1 else size
            if count <= 0 or offset + count > s.slice_bytes or offset + count > d.slice_bytes:
                raise ValueError(
                    f"offset {offset} and size {size} reach outside a batch slice "
                    f"(src {s.slice_bytes}, dst {d.slice_bytes} bytes)"
                )
            data = [s.read(t, src_index, offset, count) for t in range(s.num_tensors)]
            for t, chunk in enumerate(data):
                d.write(t, dst_index, offset, chunk)

    def copy_blocks(self, cache: Cache, copy_block_info: dict[int, list[int]]) -> None:
        """Copy each source block to each of its destination blocks, in every tensor.

        All sources are read before anything is written.
        """
        start = self._begin(LEGACY)
        check_instance("cache", cache, Cache)
        mapping = _check_block_map("copy_block_info", copy_block_info, many=True)
        with self._commit("copy_blocks", start):
            v = self._live_view(cache, "cache")
            if any(b >= v.batch for src, dsts in mapping.items() for b in (src, *dsts)):
                raise ValueError(f"block index out of range [0, {v.batch})")
            blocks = {
                src: [v.read(t, src, 0, v.slice_bytes) for t in range(v.num_tensors)]
                for src in mapping
            }
            for src, dsts in mapping.items():
                for dst_block in dsts:
                    for t in range(v.num_tensors):
                        v.write(t, dst_block, 0, blocks[src][t])

    def swap_blocks(self, src_cache: Cache, dst_cache: Cache, src_to_dst: dict[int, int]) -> None:
        """Copy blocks between a HOST and a DEVICE cache (swap in / swap out)."""
        start = self._begin(LEGACY)
        if src_cache is None or dst_cache is None or src_to_dst is None:
            raise AttributeError(
                "swap_blocks: src_cache, dst_cache and src_to_dst must not be None"
            )
        check_instance("src_cache", src_cache, Cache)
        check_instance("dst_cache", dst_cache, Cache)
        mapping = _check_block_map("src_to_dst", src_to_dst, many=False)
        with self._commit("swap_blocks", start):
            s, d = self._live_view(src_cache, "src_cache"), self._live_view(dst_cache, "dst_cache")
            if {s.placement, d.placement} != {Placement.HOST, Placement.DEVICE}:
                raise ValueError("swap_blocks moves blocks between a HOST and a DEVICE cache")
            if s.num_tensors != d.num_tensors:
                raise ValueError(f"tensor counts differ: {s.num_tensors} and {d.num_tensors}")
            if s.slice_bytes != d.slice_bytes:
                raise ValueError(f"block sizes differ: {s.slice_bytes} and {d.slice_bytes} bytes")
            if any(src >= s.batch or dsts[0] >= d.batch for src, dsts in mapping.items()):
                raise ValueError(f"block index out of range (src {s.batch}, dst {d.batch} blocks)")
            blocks = {
                src: [s.read(t, src, 0, s.slice_bytes) for t in range(s.num_tensors)]
                for src in mapping
            }
            for src, dsts in mapping.items():
                for t in range(d.num_tensors):
                    d.write(t, dsts[0], 0, blocks[src][t])

    # -- transfers between engines ----------------------------------------------------------------

    def pull_cache(
        self,
        cache_key: CacheKey | CacheKeyByIdAndIndex,
        cache: Cache,
        batch_index: int = 0,
        size: int = -1,
        **kwargs: Any,
    ) -> None:
        """Copy the prompt-side batch named by ``cache_key`` into batch ``batch_index`` of ``cache``.

        A successful pull by CacheKey that covers every tensor releases the key's reference.
        """
        start = self._begin(TRANSFER)
        if not isinstance(cache_key, (CacheKey, CacheKeyByIdAndIndex)):
            raise TypeError(
                f"cache_key must be a CacheKey or CacheKeyByIdAndIndex, got {type_name(cache_key)}"
            )
        check_instance("cache", cache, Cache)
        batch_index = check_int("batch_index", batch_index, 0, UINT32_MAX)
        size = _check_size("size", size)
        src_layers, dst_layers, per_layer = _transfer_options(kwargs)
        with self._commit("pull_cache", start):
            peer = self._peer(cache_key.cluster_id)
            entry, index = peer._source(cache_key)
            s, d = entry.view, self._live_view(cache, "cache")
            pairs = _tensor_pairs(src_layers, dst_layers, per_layer, s, d)
            if batch_index >= d.batch:
                raise ValueError(f"batch_index {batch_index} out of range [0, {d.batch})")
            count = s.slice_bytes if size == -1 else size
            if count > s.slice_bytes or count > d.slice_bytes:
                raise ValueError(
                    f"size {count} exceeds a batch slice (src {s.slice_bytes}, dst {d.slice_bytes})"
                )
            data = [(dt, s.read(st, index, 0, count)) for st, dt in pairs]
            for dt, chunk in data:
                d.write(dt, batch_index, 0, chunk)
            if isinstance(cache_key, CacheKey):
                pulled = entry.pulled.setdefault(cache_key, set())
                pulled.update(st for st, _ in pairs)
                if len(pulled) >= s.num_tensors:
                    peer._unbind(cache_key)

    def pull_blocks(
        self,
        src_cache_key: CacheKey | CacheKeyByIdAndIndex | BlocksCacheKey,
        dst_cache: Cache,
        src_blocks: tuple[int, ...] | list[int] | None = (),
        dst_blocks: tuple[int, ...] | list[int] = (),
        **kwargs: Any,
    ) -> None:
        """Copy prompt-side blocks into blocks of ``dst_cache``.

        With a BlocksCacheKey, block src_blocks[i] goes to dst_blocks[i]; with a key naming
        a batch slice, src_blocks is empty and the slice is spread over dst_blocks in order.
        """
        start = self._begin(TRANSFER)
        if not isinstance(src_cache_key, (CacheKey, CacheKeyByIdAndIndex, BlocksCacheKey)):
            raise TypeError(f"src_cache_key has the wrong type {type_name(src_cache_key)}")
        check_instance("dst_cache", dst_cache, Cache)
        sources = (
            []
            if src_blocks is None
            else check_int_sequence("src_blocks", src_blocks, 0, UINT32_MAX)
        )
        targets = check_int_sequence("dst_blocks", dst_blocks, 0, UINT32_MAX)
        src_layers, dst_layers, per_layer = _transfer_options(kwargs)
        if not targets:
            raise ValueError("dst_blocks must not be empty")
        with self._commit("pull_blocks", start):
            peer = self._peer(src_cache_key.cluster_id)
            d = self._live_view(dst_cache, "dst_cache")
            if isinstance(src_cache_key, BlocksCacheKey):
                cache_id = peer._blocks_keys.get(src_cache_key)
                if cache_id is None:
                    raise LLMException(
                        f"{src_cache_key!r} names no blocks cache",
                        status_code=S.LLM_KV_CACHE_NOT_EXIST,
                    )
                s = peer._entries[cache_id].view
                if len(sources) != len(targets):
                    raise ValueError("src_blocks and dst_blocks must have the same length")
                if s.slice_bytes != d.slice_bytes:
                    raise ValueError("block sizes differ")
                moves = [(b, 0, s.slice_bytes, t) for b, t in zip(sources, targets, strict=False)]
            else:
                if sources:
                    raise ValueError(
                        "src_blocks must be empty unless src_cache_key is a BlocksCacheKey"
                    )
                entry, index = peer._source(src_cache_key)
                s, block = entry.view, d.slice_bytes
                if block == 0 or -(-s.slice_bytes // block) > len(targets):
                    raise ValueError("dst_blocks cannot hold the source batch slice")
                moves = [
                    (index, at, min(block, s.slice_bytes - at), targets[i])
                    for i, at in enumerate(range(0, s.slice_bytes, block))
                ]
            if any(b >= s.batch or t >= d.batch for b, _, _, t in moves):
                raise ValueError("block index out of range")
            pairs = _tensor_pairs(src_layers, dst_layers, per_layer, s, d)
            data = [(dt, t, s.read(st, b, at, n)) for b, at, n, t in moves for st, dt in pairs]
            for dt, t, chunk in data:
                d.write(dt, t, 0, chunk)

    def push_cache(
        self,
        dst_cache_key: CacheKeyByIdAndIndex,
        src_cache: Cache,
        src_batch_index: int = 0,
        src_layer_range: range | None = None,
        dst_layer_range: range | None = None,
        size: int = -1,
        tensor_num_per_layer: int = 2,
    ) -> None:
        """Copy batch ``src_batch_index`` of ``src_cache`` into the remote batch named by
        ``dst_cache_key``; releases the remote key bound to that batch, if any."""
        start = self._begin(TRANSFER)
        key = check_instance("dst_cache_key", dst_cache_key, CacheKeyByIdAndIndex)
        check_instance("src_cache", src_cache, Cache)
        src_index = check_int("src_batch_index", src_batch_index, 0, UINT32_MAX)
        size = _check_size("size", size)
        src_layers, dst_layers, per_layer = _transfer_options(
            {
                "src_layer_range": src_layer_range,
                "dst_layer_range": dst_layer_range,
                "tensor_num_per_layer": tensor_num_per_layer,
            }
        )
        with self._commit("push_cache", start):
            peer = self._peer(key.cluster_id)
            entry, index = peer._source(key)
            s, d = self._live_view(src_cache, "src_cache"), entry.view
            pairs = _tensor_pairs(src_layers, dst_layers, per_layer, s, d)
            if src_index >= s.batch:
                raise ValueError(f"src_batch_index {src_index} out of range [0, {s.batch})")
            count = s.slice_bytes if size == -1 else size
            if count > s.slice_bytes or count > d.slice_bytes:
                raise ValueError("size exceeds a batch slice")
            data = [(dt, s.read(st, src_index, 0, count)) for st, dt in pairs]
            for dt, chunk in data:
                d.write(dt, index, 0, chunk)
            for bound, bound_index in list(entry.keys.items()):
                if bound_index == index:
                    peer._unbind(bound)
