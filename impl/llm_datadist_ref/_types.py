"""The value types of the API: enums, CacheDesc, the three key kinds and Cache."""

from __future__ import annotations

import math
from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any

from ._status import LLMException, LLMParamValueError, LLMStatusCode, raise_if_false
from ._validate import (
    INVALID_ID,
    check_int32,
    check_int64,
    check_isinstance,
    check_uint32,
    check_uint64,
    type_name,
)

if TYPE_CHECKING:
    from ._cache_manager import CacheManager

__all__ = [
    "BlocksCacheKey",
    "Cache",
    "CacheDesc",
    "CacheKey",
    "CacheKeyByIdAndIndex",
    "DataType",
    "LLMRole",
    "Placement",
    "RegisterMemStatus",
]

#: How the core is told which kind of key a transfer names (the first item of a key's `_remote`).
KEY_BY_CACHE_KEY, KEY_BY_ID, KEY_BY_BLOCKS = 0, 1, 2

_MAX_DIMS = 32  # the vendor accepts shapes of 1..32 dims
_MAX_TENSOR_BYTES = 2**63 - 1


class LLMRole(IntEnum):
    PROMPT = 1
    DECODER = 2
    MIX = 3

    def __str__(self) -> str:
        return f"{self.__class__.__name__}.{self.name}"


class RegisterMemStatus(Enum):
    """What LLMDataDist.query_register_mem_status reports for a link made by `link`."""

    OK = 0
    PREPARING = 1
    FAILED = 2


class Placement(IntEnum):
    """Where a cache lives: HOST memory or DEVICE memory (host RAM in this reference)."""

    HOST = 0
    DEVICE = 1

    def __str__(self) -> str:
        return f"{self.__class__.__name__}.{self.name}"


class DataType(Enum):
    """Element types, valued as the vendor's ge::DataType."""

    DT_FLOAT = 0
    DT_FLOAT16 = 1
    DT_BF16 = 27
    DT_INT8 = 2
    DT_INT16 = 6
    DT_UINT16 = 7
    DT_UINT8 = 4
    DT_INT32 = 3
    DT_INT64 = 9
    DT_UINT32 = 8
    DT_UINT64 = 10
    DT_BOOL = 12
    DT_DOUBLE = 11
    DT_STRING = 13

    @property
    def itemsize(self) -> int:
        """Bytes per element, as the vendor sizes tensors (DT_STRING counts 16)."""
        return _ITEMSIZE[self]


_ITEMSIZE = {
    DataType.DT_FLOAT: 4,
    DataType.DT_FLOAT16: 2,
    DataType.DT_BF16: 2,
    DataType.DT_INT8: 1,
    DataType.DT_INT16: 2,
    DataType.DT_UINT16: 2,
    DataType.DT_UINT8: 1,
    DataType.DT_INT32: 4,
    DataType.DT_INT64: 8,
    DataType.DT_UINT32: 4,
    DataType.DT_UINT64: 8,
    DataType.DT_BOOL: 1,
    DataType.DT_DOUBLE: 8,
    DataType.DT_STRING: 16,
}


class CacheDesc:
    """Describes the tensors of a cache: `num_tensors` tensors of `shape` and `data_type`.

    The batch dimension (`batch_dim_index`) splits every tensor into `batch_size` equal slices;
    for a blocks cache those slices are the blocks.
    """

    __slots__ = (
        "_batch_dim",
        "_data_type",
        "_geometry",
        "_geometry_shape",
        "_kv_tensor_format",
        "_match_key",
        "_num_tensors",
        "_placement",
        "_seq_len_dim_index",
        "_shape",
        "_size",
    )

    def __init__(
        self,
        num_tensors: int,
        shape: tuple[int, ...] | list[int],
        data_type: DataType,
        placement: Placement = Placement.DEVICE,
        batch_dim_index: int = 0,
        seq_len_dim_index: int = -1,
        kv_tensor_format: str | None = None,
    ) -> None:
        check_uint32("num_tensors", num_tensors)
        check_isinstance("shape", shape, (tuple, list), int)
        check_isinstance("data_type", data_type, DataType)
        check_isinstance("placement", placement, Placement)
        check_isinstance("batch_dim_index", batch_dim_index, int)
        check_int32("seq_len_dim_index", seq_len_dim_index)
        check_isinstance("kv_tensor_format", kv_tensor_format, str, allow_none=True)
        if not 0 <= batch_dim_index < len(shape):
            raise LLMParamValueError(
                f"batch_dim_index {batch_dim_index} out of range, [0, {len(shape)})"
            )
        if not (seq_len_dim_index == -1 or 0 <= seq_len_dim_index < len(shape)):
            raise LLMParamValueError(
                f"seq_len_dim_index {seq_len_dim_index} is invalid, should be -1 or in [0, {len(shape)})"
            )
        for dim in shape:
            check_int64("shape", dim)
        self._num_tensors = num_tensors
        self._shape = shape  # the caller's object, as the vendor keeps it
        self._data_type = data_type
        self._placement = placement
        self._batch_dim = batch_dim_index
        self._seq_len_dim_index = seq_len_dim_index
        self._kv_tensor_format = kv_tensor_format
        self._size = -1
        self._geometry: tuple[int, int, int, int] | None = None
        self._geometry_shape: tuple[int, ...] | list[int] | None = None
        self._match_key: tuple[object, ...] | None = None

    def __repr__(self) -> str:
        return (
            f"CacheDesc(num_tensors={self._num_tensors}, shape={self._shape}, "
            f"data_type={self._data_type}, placement={self._placement}, "
            f"batch_dim_index={self._batch_dim}, seq_len_dim_index={self._seq_len_dim_index}, "
            f"kv_tensor_format={self._kv_tensor_format})"
        )

    @property
    def num_tensors(self) -> int:
        return self._num_tensors

    @property
    def shape(self) -> tuple[int, ...] | list[int]:
        return self._shape

    @property
    def data_type(self) -> DataType:
        return self._data_type

    @property
    def placement(self) -> Placement:
        return self._placement

    @property
    def batch_dim(self) -> int:
        return self._batch_dim

    @property
    def batch_size(self) -> int:
        return self._shape[self._batch_dim]

    @property
    def seq_len_dim_index(self) -> int:
        return self._seq_len_dim_index

    @property
    def kv_tensor_format(self) -> str | None:
        return self._kv_tensor_format

    @property
    def size(self) -> int:
        """Bytes of one tensor (elements x item size), cached until update_dim()."""
        if self._size == -1:
            count = 1
            for dim in self._shape:
                if dim < 0:
                    raise LLMException(
                        f"Failed to calc tensor size, shape = {self._shape}",
                        status_code=LLMStatusCode.LLM_PARAM_INVALID,
                    )
                count *= dim
            self._size = count * self._data_type.itemsize
        return self._size

    def update_dim(self, dim_index: int, dim_value: int) -> None:
        """Sets one dimension of the shape (in the caller's shape object, as the vendor does)."""
        check_isinstance("dim_index", dim_index, int)
        check_int64("dim_value", dim_value)
        if not -len(self._shape) <= dim_index < len(self._shape):
            raise LLMParamValueError(f"dim_index {dim_index} out of range of shape {self._shape}")
        if isinstance(self._shape, tuple):
            shape = list(self._shape)
            shape[dim_index] = dim_value
            self._shape = tuple(shape)
        else:
            self._shape[dim_index] = dim_value
        self._size = -1
        self._geometry = None
        self._match_key = None

    def _matching_key(self) -> tuple[object, ...]:
        """What two descs of caches that copy_cache may copy between have in common: tensors,
        element type, batch dimension and the shape apart from the batch dimension."""
        key = self._match_key
        if key is None:
            shape = tuple(self._shape)
            key = (
                self._num_tensors,
                self._data_type,
                self._batch_dim,
                shape[: self._batch_dim] + shape[self._batch_dim + 1 :],
            )
            self._match_key = key
        return key

    def _allocation_geometry(self) -> tuple[int, int, int, int]:
        """(placement, num_tensors, tensor_bytes, batch_size) of a cache of this description.

        Raises LLMParamValueError for a description no cache can have (no tensors, an empty or
        negative dimension, more than 32 dimensions).
        """
        geometry = self._geometry
        shape = self._shape
        if geometry is None or shape != self._geometry_shape:
            if self._num_tensors <= 0:
                raise LLMParamValueError("num_tensors should be bigger than zero.")
            if not 1 <= len(shape) <= _MAX_DIMS:
                raise LLMParamValueError(
                    f"shape must have 1 to {_MAX_DIMS} dims, got {list(shape)}"
                )
            if any(dim <= 0 for dim in shape):
                raise LLMParamValueError(f"every dim of shape must be > 0, got {list(shape)}")
            tensor_bytes = math.prod(shape) * self._data_type.itemsize  # not `size`: it is cached
            if tensor_bytes > _MAX_TENSOR_BYTES:
                raise LLMParamValueError(f"tensor of shape {list(shape)} is too large")
            geometry = (
                int(self._placement),
                self._num_tensors,
                tensor_bytes,
                shape[self._batch_dim],
            )
            self._geometry = geometry
            # The caller's shape object may be edited in place (as the vendor allocates from the
            # shape at each call, so does this): the geometry holds while the shape equals this.
            self._geometry_shape = shape if type(shape) is tuple else list(shape)
        return geometry


_new_object = object.__new__


def allocated_cache(
    cache_id: int,
    cache_desc: CacheDesc,
    tensor_addrs: list[int],
    cache_manager: CacheManager,
    geometry: tuple[int, int, int, int],
    is_blocks_cache: bool,
) -> Cache:
    """The handle of a cache the core has just allocated: the same state as Cache.__init__ leaves
    (every slot set), without re-checking what the core returned (about a third of the cost of
    calling the class). The keyless allocate_cache gets its handle from the core instead
    (Engine.allocate_cache, native/src/cache_handle.cpp), built the same way."""
    cache: Cache = _new_object(Cache)
    cache._cache_id = cache_id
    cache._cache_desc = cache_desc
    cache._tensor_addrs = tensor_addrs
    cache._cache_manager = cache_manager
    cache._is_registered = False
    cache._is_blocks_cache = is_blocks_cache
    cache._valid = True
    cache._buffers = ()
    cache._geometry = geometry
    return cache


def _key_params(
    kind: str, args: tuple[Any, ...], kwargs: dict[str, Any], order: tuple[str, ...]
) -> dict[str, Any]:
    raise_if_false(len(args) + len(kwargs) <= len(order), f"{kind}: param num is over limit")
    params = dict(kwargs)
    for name, value in zip(order[: len(args)], args, strict=True):
        raise_if_false(name not in params, f"{kind}: param {name} given twice")
        params[name] = value
    allowed = {"prompt_cluster_id", *order}
    for name in params:
        raise_if_false(name in allowed, f"{kind}: unsupported param {name}")
    raise_if_false(
        ("prompt_cluster_id" in params) != ("cluster_id" in params),
        f"{kind}: exactly one of prompt_cluster_id or cluster_id is required",
    )
    if "prompt_cluster_id" in params:
        params["cluster_id"] = params.pop("prompt_cluster_id")
    return params


class CacheKey:
    """Indexes one batch index of a cache: (cluster_id, req_id, model_id=0, prefix_id=UINT64_MAX).

    The PROMPT binds keys at allocate_cache (where cluster_id is ignored); the DECODER pulls by them
    (where cluster_id names the PROMPT). req_id UINT64_MAX is the placeholder of an unused index.
    """

    __slots__ = ("_cluster_id", "_model_id", "_packed", "_prefix_id", "_remote", "_req_id")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        params = _key_params(
            "CacheKey", args, kwargs, ("cluster_id", "req_id", "model_id", "prefix_id")
        )
        raise_if_false("req_id" in params, "CacheKey: param req_id is required")
        self._cluster_id = check_uint64("cluster_id", params["cluster_id"])
        self._req_id = check_uint64("req_id", params["req_id"])
        self._model_id = check_uint64("model_id", params.get("model_id", 0))
        self._prefix_id = check_uint64("prefix_id", params.get("prefix_id", INVALID_ID))
        self._packed = (self._req_id, self._prefix_id, self._model_id)
        self._remote = (
            KEY_BY_CACHE_KEY,
            self._req_id,
            self._prefix_id,
            self._model_id,
        )  # the core's encoding

    @property
    def prompt_cluster_id(self) -> int:
        return self._cluster_id

    @property
    def cluster_id(self) -> int:
        return self._cluster_id

    @property
    def req_id(self) -> int:
        return self._req_id

    @property
    def model_id(self) -> int:
        return self._model_id

    @property
    def prefix_id(self) -> int:
        return self._prefix_id

    def __repr__(self) -> str:
        return (
            f"CacheKey(cluster_id={self._cluster_id}, req_id={self._req_id}, "
            f"prefix_id={self._prefix_id}, model_id={self._model_id})"
        )


class BlocksCacheKey:
    """Indexes a blocks cache: (cluster_id, model_id=0)."""

    __slots__ = ("_cluster_id", "_model_id", "_remote")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        params = _key_params("BlocksCacheKey", args, kwargs, ("cluster_id", "model_id"))
        self._cluster_id: int = params["cluster_id"]
        self._model_id: int = params.get("model_id", 0)
        check_isinstance("cluster_id", self._cluster_id, int)
        check_isinstance("model_id", self._model_id, int)
        self._remote = (KEY_BY_BLOCKS, self._model_id, 0, 0)  # the core's encoding

    @property
    def prompt_cluster_id(self) -> int:
        return self._cluster_id

    @property
    def cluster_id(self) -> int:
        return self._cluster_id

    @property
    def model_id(self) -> int:
        return self._model_id

    def __repr__(self) -> str:
        return f"BlocksCacheKey(cluster_id={self._cluster_id}, model_id={self._model_id})"


class CacheKeyByIdAndIndex:
    """Indexes one batch index of a PROMPT cache by its cache_id."""

    __slots__ = ("_batch_index", "_cache_id", "_cluster_id", "_remote")

    def __init__(self, cluster_id: int, cache_id: int, batch_index: int = 0) -> None:
        self._cluster_id = check_uint64("cluster_id", cluster_id)
        self._cache_id = check_int64("cache_id", cache_id)
        self._batch_index = check_uint32("batch_index", batch_index)
        self._remote = (KEY_BY_ID, self._cache_id, self._batch_index, 0)  # the core's encoding

    @property
    def cluster_id(self) -> int:
        return self._cluster_id

    @property
    def cache_id(self) -> int:
        return self._cache_id

    @property
    def batch_index(self) -> int:
        return self._batch_index

    def __repr__(self) -> str:
        return (
            f"CacheKeyByIdAndIndex(cluster_id={self._cluster_id}, cache_id={self._cache_id}, "
            f"batch_index={self._batch_index})"
        )


class Cache:
    """A cache handed out by a CacheManager (or made with `create_cpu_cache`); not built by users.

    `tensor_addrs` are host addresses of the tensors (device memory is host RAM here); they become
    `[]` once the cache is deallocated, or once the LLMDataDist that allocated it is finalized, so
    a stale handle can never lead a write into memory that is unmapped or reused.

    The cache's layout (`_geometry`: placement, num_tensors, tensor bytes, batch size) is fixed
    when the cache is made: `cache_desc` stays the caller's live object, and a later
    `update_dim` on it changes nothing about the cache.
    """

    # native/src/cache_handle.cpp sets these too (Engine.allocate_cache): change both together.
    __slots__ = (
        "_buffers",
        "_cache_desc",
        "_cache_id",
        "_cache_manager",
        "_geometry",
        "_is_blocks_cache",
        "_is_registered",
        "_tensor_addrs",
        "_valid",
    )

    def __init__(
        self,
        cache_id: int,
        cache_desc: CacheDesc,
        tensor_addrs: list[int],
        cache_manager: CacheManager | None,
        is_registered: bool,
        is_blocks_cache: bool,
    ) -> None:
        if type(cache_id) is not int:
            check_int64("cache_id", cache_id)
        self._cache_id = cache_id
        self._cache_desc = cache_desc
        self._tensor_addrs = tensor_addrs
        self._cache_manager = cache_manager
        self._is_registered = is_registered
        self._is_blocks_cache = is_blocks_cache
        self._valid = True
        self._buffers: tuple[object, ...] = ()
        # Layout as checked at creation; an allocating CacheManager passes what it allocated.
        self._geometry: tuple[int, int, int, int] | None = None

    @property
    def cache_id(self) -> int:
        return self._cache_id

    @property
    def cache_desc(self) -> CacheDesc:
        return self._cache_desc

    @property
    def tensor_addrs(self) -> list[int]:
        manager = self._cache_manager
        if manager is not None and not manager._initialized and self._tensor_addrs:
            self._forget()  # its LLMDataDist was finalized: the pool is gone
        return self._tensor_addrs

    def _forget(self) -> None:
        """Drops the addresses of a cache whose memory is no longer this handle's to use."""
        self._tensor_addrs = []
        self._valid = False

    def _layout(self) -> tuple[int, int, int, int]:
        """(placement, num_tensors, tensor_bytes, batch_size) as fixed at creation."""
        geometry = self._geometry
        if geometry is None:  # a Cache built by hand: validate its desc once, then keep that
            geometry = self._geometry = self._cache_desc._allocation_geometry()
        return geometry

    @property
    def is_blocks_cache(self) -> bool:
        return self._is_blocks_cache

    @classmethod
    def create_cpu_cache(cls, cache_desc: CacheDesc, addrs: list[Any]) -> Cache:
        """A HOST blocks cache over caller memory, for swap_blocks.

        `addrs` holds one entry per tensor: an int address, or (a convenience of this reference) a
        writable C-contiguous numpy array of at least `cache_desc.size` bytes and a dtype without
        Python objects, which the Cache keeps alive. Memory given by address is trusted: it must
        stay valid and hold `cache_desc.size` bytes per tensor (see impl/README.md, "Trust
        boundary"). The layout is taken from `cache_desc` now, once: a later `update_dim` on the
        desc does not change the cache.
        """
        if cache_desc is None or addrs is None:
            raise AttributeError("create_cpu_cache: cache_desc and addrs can not be None")
        check_isinstance("cache_desc", cache_desc, CacheDesc)
        check_isinstance("addrs", addrs, list)
        raise_if_false(cache_desc.placement == Placement.HOST, "cache_desc placement must be HOST")
        raise_if_false(
            cache_desc.num_tensors == len(addrs),
            f"cache_desc num_tensors:{cache_desc.num_tensors} not equal addrs num:{len(addrs)}",
        )
        geometry = cache_desc._allocation_geometry()  # shape checked as for an allocation
        tensor_bytes = geometry[2]
        addresses: list[int] = []
        buffers: list[object] = []
        for item in addrs:
            if isinstance(item, int):
                if not 0 < item < 2**63:
                    raise ValueError(f"addrs holds an invalid address {item}")
                addresses.append(item)
            elif _is_ndarray(item):
                addresses.append(_array_address(item, tensor_bytes))
                buffers.append(item)
            else:
                raise TypeError(
                    f"addrs inner type only support ['int', 'numpy.ndarray'], but got {type_name(item)}."
                )
        cache = cls(-1, cache_desc, addresses, None, False, True)
        cache._buffers = tuple(buffers)
        cache._geometry = geometry
        return cache

    def __str__(self) -> str:
        return (
            f"Cache(cache_id = {self._cache_id}, device_tensor_addrs = {len(self._tensor_addrs)}, "
            f"is_blocks_cache = {self._is_blocks_cache})"
        )

    __repr__ = __str__


def _is_ndarray(item: object) -> bool:
    return type(item).__module__ == "numpy" and type(item).__name__ == "ndarray"


def _array_address(array: Any, needed_bytes: int) -> int:
    if array.dtype.hasobject:
        # Raw bytes written over PyObject pointers would crash the interpreter.
        raise TypeError(
            f"a numpy tensor of a cpu cache can not hold Python objects ({array.dtype})"
        )
    flags = array.flags
    if not flags["C_CONTIGUOUS"] or not flags["WRITEABLE"]:
        raise ValueError("a numpy tensor of a cpu cache must be C-contiguous and writeable")
    if array.nbytes < needed_bytes:
        raise ValueError(f"a numpy tensor of {array.nbytes} bytes cannot hold {needed_bytes} bytes")
    address: int = array.__array_interface__["data"][0]
    return address
