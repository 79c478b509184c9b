"""CacheManager: argument checks in Python, then one call into the C++ core per operation.

Order of checks in every legacy method (allocate_cache ... swap_blocks): finalized
(LLM_ENGINE_FINALIZED), then product line (LLM_FEATURE_NOT_ENABLED), then argument types
(TypeError), then values (ValueError / LLMException), then the core, which validates again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, NoReturn

from . import _core
from ._remote.link import RemoteLink
from ._status import LLMParamValueError, LLMStatusCode, raise_if_false, raise_status
from ._types import (
    KEY_BY_BLOCKS,
    KEY_BY_CACHE_KEY,
    KEY_BY_ID,
    BlocksCacheKey,
    Cache,
    CacheDesc,
    CacheKey,
    CacheKeyByIdAndIndex,
    Placement,
    allocated_cache,
)
from ._validate import (
    check_int64,
    check_isinstance,
    check_uint32,
    check_uint64,
    type_name,
)

if TYPE_CHECKING:
    from ._datadist import LLMDataDist
    from ._options import EngineSettings

__all__ = ["CacheManager"]

_log = logging.getLogger("llm_datadist_ref")

_TENSORS_PER_LAYER = 2

# allocate_cache's hot path gets its Cache handle built by the core (Engine.allocate_cache).
_core.set_cache_class(Cache)


def _type_error(name: str, expected: str, value: object) -> NoReturn:
    raise TypeError(f"{name} only support [{expected}], but got {type_name(value)}.")


def _require_cache(name: str, value: object) -> Cache:
    if not isinstance(value, Cache):
        _type_error(name, "'Cache'", value)
    return value


def _layer_tensor_indices(
    name: str, layer_range: object, tensors_per_layer: int, limit: int
) -> list[int]:
    """Tensor indices of a layer range (layer i = tensors [i*n, (i+1)*n)); [] for None.

    `limit` is the most tensors a valid call can name (the local cache's num_tensors): a longer
    range is refused before any list is built, so one argument cannot cost unbounded memory."""
    if layer_range is None:
        return []
    if not isinstance(layer_range, range):
        _type_error(name, "'range'", layer_range)
    raise_if_false(layer_range.step == 1, f"param check failed, {name} step must be 1.")
    raise_if_false(
        0 <= layer_range.start < layer_range.stop,
        f"check 0 <= range.start < range.stop failed, {name} = {layer_range}",
    )
    check_uint32(name, layer_range.stop - 1)
    if len(layer_range) * tensors_per_layer > limit:
        raise LLMParamValueError(
            f"{name} = {layer_range} names {len(layer_range) * tensors_per_layer} tensors "
            f"({tensors_per_layer} per layer), more than the cache's {limit}"
        )
    start = layer_range.start * tensors_per_layer
    return list(range(start, start + len(layer_range) * tensors_per_layer))


def _tensors_per_layer(value: object, operation: str) -> int:
    check_uint32("tensor_num_per_layer", value)
    assert isinstance(value, int)
    if value <= 0:
        raise LLMParamValueError(
            f"[{operation}] tensor_num_per_layer ({value}) is invalid, should be >= 1"
        )
    return value


def _size(value: object, operation: str) -> int:
    check_int64("size", value)
    assert isinstance(value, int)
    if value != -1 and value <= 0:
        raise LLMParamValueError(f"[{operation}] size ({value}) is invalid, should be -1 or > 0")
    return value


def _transfer_tensors(
    kwargs: dict[str, Any], cache: Cache, operation: str
) -> tuple[list[int], list[int]]:
    """Tensor indices of a pull's layer-range kwargs into `cache`: ([], []) (every tensor) without
    them."""
    if not kwargs:
        return [], []
    per_layer = _tensors_per_layer(
        kwargs.get("tensor_num_per_layer", _TENSORS_PER_LAYER), operation
    )
    limit = cache._layout()[1]
    src = _layer_tensor_indices("src_layer_range", kwargs.get("src_layer_range"), per_layer, limit)
    dst = _layer_tensor_indices("dst_layer_range", kwargs.get("dst_layer_range"), per_layer, limit)
    return src, dst


def _index_list(name: str, values: object) -> list[int] | tuple[int, ...]:
    if values is None:
        return ()
    if type(values) is list or type(values) is tuple:
        for value in values:  # the common case first: exact ints, checked without the helper
            if type(value) is not int:
                break
        else:
            return values
    check_isinstance(name, values, (list, tuple), int)
    assert isinstance(values, (list, tuple))
    return values


_UINT64_MAX = 0xFFFF_FFFF_FFFF_FFFF
_INDEX_LISTS = (list, tuple)  # the block-list types; anything else goes to the checked path


def _u32(name: str, value: object) -> None:
    if type(value) is not int or not 0 <= value <= 0xFFFFFFFF:
        check_uint32(name, value)


def _descs_match(dst: CacheDesc, src: CacheDesc) -> bool:
    return dst is src or dst._matching_key() == src._matching_key()


class CacheManager:
    """The cache operations of one LLMDataDist, reached through `LLMDataDist.cache_manager`.

    References (allocate_cache): a cache is held by its cache_id (released by deallocate_cache)
    and by each key bound at allocation (released by remove_cache_key, by a successful pull_cache
    of that key, or by a successful push_cache into the key's batch index). Its memory returns to
    the pool when all are released.
    """

    def __init__(
        self, llm_datadist: LLMDataDist, engine: _core.Engine, settings: EngineSettings
    ) -> None:
        self._llm_datadist = llm_datadist
        self._engine: _core.Engine | None = engine
        # The engine for the legacy (deprecated) methods: None on a product line without them.
        self._legacy_engine: _core.Engine | None = (
            engine if settings.product.legacy_cache_manager else None
        )
        self._product = settings.product
        self._initialized = True
        self._enable_remote_cache_accessible = settings.remote_cache_accessible
        #: The key types pull_cache takes (with remote access: only CacheKeyByIdAndIndex).
        self._pull_key_types: tuple[type, ...] = (
            (CacheKeyByIdAndIndex,)
            if settings.remote_cache_accessible
            else (CacheKey, CacheKeyByIdAndIndex)
        )

    def _on_finalize(self) -> None:
        self._initialized = False
        self._engine = None
        self._legacy_engine = None

    def _unavailable(self, api: str) -> NoReturn:
        if not self._initialized:
            raise_status(
                LLMStatusCode.LLM_ENGINE_FINALIZED,
                "CacheManager is no longer initialized; obtain a new instance after LLMDataDist.init.",
            )
        raise_status(
            LLMStatusCode.LLM_FEATURE_NOT_ENABLED,
            f"CacheManager.{api} is not supported on {self._product.name} ({self._product.id})",
        )

    def _live_engine(self) -> _core.Engine:
        engine = self._engine
        if engine is None:
            self._unavailable("")
        return engine

    def _own_cache_id(self, cache: Cache) -> int | None:
        """The core id of a cache of this manager, or None for any other cache."""
        return cache._cache_id if cache._cache_manager is self else None

    def _own_or_missing(self, cache: Cache, role: str) -> int:
        cache_id = self._own_cache_id(cache)
        if cache_id is None:
            raise_status(
                LLMStatusCode.LLM_KV_CACHE_NOT_EXIST,
                f"{role} cache (cache_id {cache._cache_id}) does not belong to this CacheManager",
            )
        return cache_id

    # -- allocation and references ------------------------------------------------------------

    def allocate_cache(
        self,
        cache_desc: CacheDesc,
        cache_keys: tuple[CacheKey, ...] | list[CacheKey] = (),
    ) -> Cache:
        """Allocates a cache held by its cache_id and by `cache_keys`.

        Key i references batch index i; a key with req_id UINT64_MAX holds an unused index and
        trailing unused indices may be omitted; a key listed twice binds its last index. More keys
        than the batch size, or a key already bound to a live cache: LLMException(PARAM_INVALID).
        No pool for the placement: LLMException(PARAM_INVALID); pool exhausted: LLM_OUT_OF_MEMORY.
        """
        engine = self._legacy_engine
        if (
            engine is not None
            and type(cache_keys) is tuple
            and not cache_keys
            and type(cache_desc) is CacheDesc
        ):
            # The common call (a CacheDesc already checked, its shape as then, no keys): the core
            # builds the handle.
            geometry = cache_desc._geometry
            if geometry is not None and cache_desc._shape == cache_desc._geometry_shape:
                return engine.allocate_cache(geometry, cache_desc, self)
        if engine is None:
            self._unavailable("allocate_cache")
        if not isinstance(cache_desc, CacheDesc):
            _type_error("cache_desc", "'CacheDesc'", cache_desc)
        if not isinstance(cache_keys, (list, tuple)):
            _type_error("cache_keys", "'list', 'tuple'", cache_keys)
        packed = []
        for key in cache_keys:
            if not isinstance(key, CacheKey):
                raise TypeError(
                    f"cache_keys inner type only support ['CacheKey'], but got {type_name(key)}."
                )
            packed.append(key._packed)
        geometry = cache_desc._allocation_geometry()
        # The core raises LLMException(PARAM_INVALID) when the placement has no pool.
        placement, num_tensors, tensor_bytes, batch_size = geometry
        cache_id, addresses = engine.allocate(
            placement, num_tensors, tensor_bytes, batch_size, False, packed, None
        )
        return allocated_cache(cache_id, cache_desc, addresses, self, geometry, False)

    def deallocate_cache(self, cache: Cache) -> None:
        """Releases the cache_id reference; the memory goes once every key is released too.
        A cache that does not exist (or is already released) is a no-op."""
        engine = self._legacy_engine
        if engine is None:
            self._unavailable("deallocate_cache")
        if type(cache) is not Cache and not isinstance(
            cache, Cache
        ):  # exact type: no subclass walk
            _type_error("cache", "'Cache'", cache)
        if cache._is_blocks_cache:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID,
                "param check failed, cache can not be blocks cache.",
            )
        if cache._cache_manager is self:  # another engine's cache stays untouched, handle included
            engine.deallocate(cache._cache_id, False)
            cache._tensor_addrs = []  # as cache._forget(), without the call
            cache._valid = False

    def remove_cache_key(self, cache_key: CacheKey) -> None:
        """Releases the reference of one key: the cache can no longer be pulled by it.
        A key that does not exist (or is already released) is a no-op."""
        engine = self._legacy_engine
        if engine is None:
            self._unavailable("remove_cache_key")
        if not isinstance(cache_key, CacheKey):
            _type_error("cache_key", "'CacheKey'", cache_key)
        engine.remove_cache_key(*cache_key._packed)

    def allocate_blocks_cache(
        self, cache_desc: CacheDesc, blocks_cache_key: BlocksCacheKey | None = None
    ) -> Cache:
        """Allocates a blocks cache (PagedAttention): block i of every tensor is batch index i of
        `cache_desc`. Released by deallocate_blocks_cache."""
        engine = self._legacy_engine
        if engine is None:
            self._unavailable("allocate_blocks_cache")
        if not isinstance(cache_desc, CacheDesc):
            _type_error("cache_desc", "'CacheDesc'", cache_desc)
        model_id: int | None = None
        if blocks_cache_key is not None:
            if not isinstance(blocks_cache_key, BlocksCacheKey):
                _type_error("blocks_cache_key", "'BlocksCacheKey'", blocks_cache_key)
            model_id = check_uint64("blocks_cache_key.model_id", blocks_cache_key.model_id)
        geometry = cache_desc._allocation_geometry()
        cache_id, addresses = engine.allocate(*geometry, True, (), model_id)
        cache = Cache(cache_id, cache_desc, addresses, self, False, True)
        cache._geometry = geometry
        return cache

    def deallocate_blocks_cache(self, cache: Cache) -> None:
        """Frees a blocks cache at once. A cache that does not exist is a no-op."""
        engine = self._legacy_engine
        if engine is None:
            self._unavailable("deallocate_blocks_cache")
        if not isinstance(cache, Cache):
            _type_error("cache", "'Cache'", cache)
        raise_if_false(cache._is_blocks_cache, "param check failed, cache should be blocks cache.")
        if cache._cache_manager is self:  # another engine's cache stays untouched, handle included
            engine.deallocate(cache._cache_id, True)
            cache._forget()

    # -- copies --------------------------------------------------------------------------------

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
        """Per tensor, copies `size` bytes (-1: to the end of the batch slice) starting at `offset`
        within batch slice `src_batch_index` of src, to the same offset within slice
        `dst_batch_index` of dst. The CacheDescs must match (tensors, data type, shape apart from
        the batch dimension). `req_id` is only logged."""
        engine = self._legacy_engine
        if engine is None:
            self._unavailable("copy_cache")
        if not isinstance(dst, Cache):
            _type_error("dst", "'Cache'", dst)
        if not isinstance(src, Cache):
            _type_error("src", "'Cache'", src)
        _u32("dst_batch_index", dst_batch_index)
        _u32("src_batch_index", src_batch_index)
        if type(offset) is not int or not 0 <= offset < 2**64:
            check_uint64("offset", offset)
        if size != -1:
            _size(size, "copy_cache")
        if req_id is not None:
            check_uint64("req_id", req_id)
        if src._is_blocks_cache or dst._is_blocks_cache:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID,
                "param check failed, copy_cache takes no blocks cache.",
            )
        if not _descs_match(dst._cache_desc, src._cache_desc):
            raise LLMParamValueError(
                f"src and dst CacheDesc must match: src {src._cache_desc}, dst {dst._cache_desc}"
            )
        dst_id = dst._cache_id if dst._cache_manager is self else self._own_or_missing(dst, "dst")
        src_id = src._cache_id if src._cache_manager is self else self._own_or_missing(src, "src")
        if req_id is not None:
            _log.debug("[copy_cache] req_id = %d, %d -> %d", req_id, src_id, dst_id)
        engine.copy_cache(dst_id, src_id, dst_batch_index, src_batch_index, offset, size)

    def copy_blocks(self, cache: Cache, copy_block_info: dict[int, list[int]]) -> None:
        """For each `{src: [dst, ...]}` entry, copies block src to each dst block, in every tensor.

        Element types (int keys, list values of ints) are checked by the core while it walks the
        dict, before anything is copied."""
        engine = self._legacy_engine
        if engine is None:
            self._unavailable("copy_blocks")
        if not isinstance(cache, Cache):
            _type_error("cache", "'Cache'", cache)
        if not isinstance(copy_block_info, dict):
            _type_error("copy_block_info", "'dict'", copy_block_info)
        if not cache._is_blocks_cache:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID, "param check failed, cache should be blocks cache."
            )
        cache_id = (
            cache._cache_id if cache._cache_manager is self else self._own_or_missing(cache, "")
        )
        engine.copy_blocks(cache_id, copy_block_info)

    def swap_blocks(self, src_cache: Cache, dst_cache: Cache, src_to_dst: dict[int, int]) -> None:
        """Moves blocks between a DEVICE blocks cache and HOST memory (a HOST blocks cache or a
        Cache.create_cpu_cache): `{src block: dst block}`. Swap-out runs on 4 workers; swap-in goes
        through a 4-block staging buffer on 1 worker. An argument that is None: AttributeError;
        wrong types: TypeError; caches that do not match (placement, num_tensors, block size):
        ValueError."""
        engine = self._legacy_engine
        if engine is None:
            self._unavailable("swap_blocks")
        for name, value in (
            ("src_cache", src_cache),
            ("dst_cache", dst_cache),
            ("src_to_dst", src_to_dst),
        ):
            if value is None:
                raise AttributeError(f"swap_blocks: {name} is None")
        _require_cache("src_cache", src_cache)
        _require_cache("dst_cache", dst_cache)
        if not isinstance(src_to_dst, dict):
            _type_error("src_to_dst", "'dict'", src_to_dst)
        if not (src_cache._is_blocks_cache and dst_cache._is_blocks_cache):
            raise LLMParamValueError("param check failed, swap_blocks takes blocks caches only")
        # The layouts fixed when the caches were made, never the (mutable) descs as they are now.
        src_placement, src_tensors, src_bytes, src_batch = src_cache._layout()
        dst_placement, dst_tensors, dst_bytes, dst_batch = dst_cache._layout()
        placements = (Placement(src_placement), Placement(dst_placement))
        if placements not in (
            (Placement.HOST, Placement.DEVICE),
            (Placement.DEVICE, Placement.HOST),
        ):
            raise LLMParamValueError(
                f"swap src placement {placements[0]} to {placements[1]} is not supported"
            )
        if src_tensors != dst_tensors:
            raise LLMParamValueError(
                f"src num_tensors:{src_tensors} and dst num_tensors:{dst_tensors} must be equal"
            )
        src_block = src_bytes // src_batch
        dst_block = dst_bytes // dst_batch
        if src_block != dst_block:
            raise LLMParamValueError(
                f"src block size:{src_block} and dst block size:{dst_block} must be equal"
            )
        src_args = self._swap_side(src_cache, "src")
        dst_args = self._swap_side(dst_cache, "dst")
        engine.swap_blocks(*src_args, *dst_args, src_to_dst)

    def _swap_side(self, cache: Cache, role: str) -> tuple[int, list[int] | None, int, int]:
        cache_id = self._own_cache_id(cache)
        if cache_id is not None:
            return cache_id, None, 0, 0
        if cache._cache_manager is not None or cache._cache_id != -1:
            raise_status(
                LLMStatusCode.LLM_KV_CACHE_NOT_EXIST,
                f"{role} cache (cache_id {cache._cache_id}) does not belong to this CacheManager",
            )
        if not cache._tensor_addrs:
            raise LLMParamValueError(f"{role} cpu cache has no tensors")
        _, _, tensor_bytes, batch_size = cache._layout()
        return -1, cache._tensor_addrs, tensor_bytes, batch_size

    # -- transfers between clusters -------------------------------------------------------------

    def pull_cache(
        self,
        cache_key: CacheKey | CacheKeyByIdAndIndex,
        cache: Cache,
        batch_index: int = 0,
        size: int = -1,
        **kwargs: Any,
    ) -> None:
        """Pulls one batch slice of a linked PROMPT's cache into batch `batch_index` of `cache`.

        By CacheKey, a successful pull releases that key on the PROMPT (once every tensor has been
        pulled, with layer ranges), which may complete a deferred deallocate_cache. A removed or
        already pulled key, or a placeholder key: LLMException(LLM_KV_CACHE_NOT_EXIST); no link:
        LLM_NOT_YET_LINK. kwargs: src_layer_range, dst_layer_range (range), tensor_num_per_layer."""
        engine = self._engine
        if (  # the common call, with every argument as the checks below would pass it
            engine is not None
            and type(cache_key) in self._pull_key_types
            and type(cache) is Cache
            and type(batch_index) is int
            and 0 <= batch_index <= 0xFFFFFFFF
            and type(size) is int
            and size == -1
            and not kwargs
            and cache._cache_manager is self
            and not cache._is_blocks_cache
        ):
            remote = self._llm_datadist._peer_if_linked(cache_key._cluster_id)
            if isinstance(remote, RemoteLink):
                key = cache_key._remote
                if remote.pull_through_mailbox(engine, key, cache._cache_id, batch_index):
                    return
            elif remote is not None:  # an engine of this process: one core call
                kind, a, b, c = cache_key._remote
                engine.pull_cache(remote, kind, a, b, c, cache._cache_id, batch_index, -1, (), ())
                return
        self._pull_cache_checked(cache_key, cache, batch_index, size, kwargs)

    def _pull_cache_checked(
        self,
        cache_key: CacheKey | CacheKeyByIdAndIndex,
        cache: Cache,
        batch_index: int,
        size: int,
        kwargs: dict[str, Any],
    ) -> None:
        """pull_cache with every argument checked in the documented order, to a peer of this
        process or of another."""
        engine = self._live_engine()
        if self._enable_remote_cache_accessible:
            if not isinstance(cache_key, CacheKeyByIdAndIndex):
                _type_error("cache_key", "'CacheKeyByIdAndIndex'", cache_key)
        elif not isinstance(cache_key, (CacheKey, CacheKeyByIdAndIndex)):
            _type_error("cache_key", "'CacheKey', 'CacheKeyByIdAndIndex'", cache_key)
        _require_cache("cache", cache)
        _u32("batch_index", batch_index)
        if type(size) is not int or size != -1:
            _size(size, "pull_cache")
        src_tensors, dst_tensors = _transfer_tensors(kwargs, cache, "pull_cache")
        if cache._is_blocks_cache:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID,
                "param check failed, cache can not be blocks cache.",
            )
        kind, a, b, c = _remote_key(cache_key)
        remote = self._llm_datadist._linked_peer(cache_key.cluster_id)
        dst_id = (
            cache._cache_id if cache._cache_manager is self else self._own_or_missing(cache, "dst")
        )
        if isinstance(remote, RemoteLink):
            destination: dict[str, Any] = {"dst_id": dst_id, "batch_index": batch_index}
            destination.update(size=size, src_blocks=[], dst_blocks=[], src_tensors=src_tensors)
            destination["dst_tensors"] = dst_tensors
            remote.pull(engine, "pull_cache", (kind, a, b, c), destination)
            return
        engine.pull_cache(
            remote, kind, a, b, c, dst_id, batch_index, size, src_tensors, dst_tensors
        )

    def pull_blocks(
        self,
        src_cache_key: CacheKey | CacheKeyByIdAndIndex | BlocksCacheKey,
        dst_cache: Cache,
        src_blocks: tuple[int, ...] | list[int] | None = (),
        dst_blocks: tuple[int, ...] | list[int] = (),
        **kwargs: Any,
    ) -> None:
        """Pulls blocks of a linked PROMPT into blocks `dst_blocks` of a blocks cache.

        With a BlocksCacheKey, block src_blocks[i] goes to dst_blocks[i]; with a CacheKey or
        CacheKeyByIdAndIndex (src_blocks empty), the keyed batch slice fills dst_blocks in order.
        Keys are not released by pull_blocks."""
        engine = self._engine
        if (  # the common call: a BlocksCacheKey, lists of exact ints, no layer ranges
            engine is not None
            and type(src_cache_key) is BlocksCacheKey
            and 0 <= src_cache_key._model_id <= _UINT64_MAX
            and 0 <= src_cache_key._cluster_id <= _UINT64_MAX
            and type(dst_cache) is Cache
            and dst_cache._is_blocks_cache
            and dst_cache._cache_manager is self
            and not kwargs
            and type(src_blocks) in _INDEX_LISTS
            and type(dst_blocks) in _INDEX_LISTS
            and src_blocks
            and dst_blocks
        ):
            remote = self._llm_datadist._peer_if_linked(src_cache_key._cluster_id)
            model_id, dst_id = src_cache_key._model_id, dst_cache._cache_id
            if isinstance(remote, RemoteLink):  # the core takes the lists if they hold exact ints
                key = src_cache_key._remote
                if remote.pull_through_mailbox(engine, key, dst_id, 0, (src_blocks, dst_blocks)):
                    return
            elif remote is not None:  # an engine of this process: one core call
                src = _index_list("src_blocks", src_blocks)
                dst = _index_list("dst_blocks", dst_blocks)
                engine.pull_blocks(remote, KEY_BY_BLOCKS, model_id, 0, 0, dst_id, src, dst, (), ())
                return
        self._pull_blocks_checked(src_cache_key, dst_cache, src_blocks, dst_blocks, kwargs)

    def _pull_blocks_checked(
        self,
        src_cache_key: CacheKey | CacheKeyByIdAndIndex | BlocksCacheKey,
        dst_cache: Cache,
        src_blocks: tuple[int, ...] | list[int] | None,
        dst_blocks: tuple[int, ...] | list[int],
        kwargs: dict[str, Any],
    ) -> None:
        """pull_blocks with every argument checked in the documented order."""
        engine = self._live_engine()
        if not isinstance(src_cache_key, (CacheKey, CacheKeyByIdAndIndex, BlocksCacheKey)):
            _type_error(
                "src_cache_key",
                "'CacheKey', 'CacheKeyByIdAndIndex', 'BlocksCacheKey'",
                src_cache_key,
            )
        _require_cache("dst_cache", dst_cache)
        src = _index_list("src_blocks", src_blocks)
        dst = _index_list("dst_blocks", dst_blocks)
        if not dst_cache._is_blocks_cache:
            raise_status(
                LLMStatusCode.LLM_PARAM_INVALID,
                "param check failed, dst_cache should be blocks cache.",
            )
        if not dst:
            raise LLMParamValueError("dst_blocks can not be empty.")
        src_tensors, dst_tensors = _transfer_tensors(kwargs, dst_cache, "pull_blocks")
        if isinstance(src_cache_key, BlocksCacheKey):
            if not src:
                raise LLMParamValueError("src_blocks can not be empty.")
        elif src:
            raise LLMParamValueError(
                "src_blocks should be empty when src_cache_key is not instance of BlocksCacheKey."
            )
        kind, a, b, c = _remote_key(src_cache_key)
        remote = self._llm_datadist._linked_peer(
            check_uint64("cluster_id", src_cache_key.cluster_id)
        )
        dst_id = (
            dst_cache._cache_id
            if dst_cache._cache_manager is self
            else self._own_or_missing(dst_cache, "dst")
        )
        if isinstance(remote, RemoteLink):
            destination: dict[str, Any] = {"dst_id": dst_id, "batch_index": 0, "size": -1}
            destination.update(src_blocks=list(src), dst_blocks=list(dst))
            destination.update(src_tensors=src_tensors, dst_tensors=dst_tensors)
            remote.pull(engine, "pull_blocks", (kind, a, b, c), destination)
            return
        engine.pull_blocks(remote, kind, a, b, c, dst_id, src, dst, src_tensors, dst_tensors)

    def push_cache(
        self,
        dst_cache_key: CacheKeyByIdAndIndex,
        src_cache: Cache,
        src_batch_index: int = 0,
        src_layer_range: range | None = None,
        dst_layer_range: range | None = None,
        size: int = -1,
        tensor_num_per_layer: int = _TENSORS_PER_LAYER,
    ) -> None:
        """Pushes batch slice `src_batch_index` of a local cache into (cache_id, batch_index) of a
        linked cluster's cache. Requires enable_remote_cache_accessible. A successful push releases
        the key bound to that batch index on the remote (once every tensor has been written), as a
        pull_cache of the key would. Without layer ranges every tensor goes to the same index."""
        engine = self._live_engine()
        raise_if_false(
            self._enable_remote_cache_accessible,
            "push_cache is only supported while enable_remote_cache_accessible is True",
        )
        if not isinstance(dst_cache_key, CacheKeyByIdAndIndex):
            _type_error("dst_cache_key", "'CacheKeyByIdAndIndex'", dst_cache_key)
        _require_cache("src_cache", src_cache)
        check_uint32("src_batch_index", src_batch_index)
        raise_if_false(
            not src_cache._is_blocks_cache, "param check failed, cache can not be blocks cache."
        )
        per_layer = _tensors_per_layer(tensor_num_per_layer, "push_cache")
        limit = src_cache._layout()[1]
        if src_layer_range is not None or dst_layer_range is not None:
            default = range(0, limit // per_layer)
            src_layer_range = default if src_layer_range is None else src_layer_range
            dst_layer_range = default if dst_layer_range is None else dst_layer_range
        src_tensors = _layer_tensor_indices("src_layer_range", src_layer_range, per_layer, limit)
        dst_tensors = _layer_tensor_indices("dst_layer_range", dst_layer_range, per_layer, limit)
        raise_if_false(
            len(src_tensors) == len(dst_tensors),
            "src_layer_range size should be equal to size of dst_layer_range size.",
        )
        check_int64("size", size)
        if size != -1:
            raise LLMParamValueError(f"[push_cache] size ({size}) is invalid, should be = -1.")
        remote = self._llm_datadist._linked_peer(dst_cache_key.cluster_id)
        src_id = self._own_or_missing(src_cache, "src")
        if isinstance(remote, RemoteLink):
            source: dict[str, Any] = {"src_id": src_id, "src_batch_index": src_batch_index}
            source.update(src_tensors=src_tensors, dst_tensors=dst_tensors)
            target = (dst_cache_key.cache_id, dst_cache_key.batch_index)
            remote.push(engine, target, source)
            return
        engine.push_cache(
            remote,
            dst_cache_key.cache_id,
            dst_cache_key.batch_index,
            src_id,
            src_batch_index,
            src_tensors,
            dst_tensors,
        )


def _remote_key(key: CacheKey | CacheKeyByIdAndIndex | BlocksCacheKey) -> tuple[int, int, int, int]:
    """The core's encoding of a key: (kind, a, b, c)."""
    if type(key) is CacheKey or type(key) is CacheKeyByIdAndIndex:
        return key._remote  # encoded once, when the (immutable) key was made
    if isinstance(key, CacheKey):
        return KEY_BY_CACHE_KEY, key.req_id, key.prefix_id, key.model_id
    if isinstance(key, CacheKeyByIdAndIndex):
        return KEY_BY_ID, key.cache_id, key.batch_index, 0
    return KEY_BY_BLOCKS, check_uint64("model_id", key.model_id), 0, 0
