"""Enums and value types: DataType, Placement, LLMRole, CacheDesc, the keys, Cache, LLMClusterInfo."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from enum import Enum, IntEnum
from typing import Any

from ._validate import (
    INT64_MAX,
    UINT16_MAX,
    UINT32_MAX,
    UINT64_MAX,
    check_instance,
    check_int,
    check_int_sequence,
    check_str,
    check_uint64,
    type_name,
)

__all__ = [
    "BlocksCacheKey",
    "Cache",
    "CacheDesc",
    "CacheKey",
    "CacheKeyByIdAndIndex",
    "DataType",
    "LLMClusterInfo",
    "LLMRole",
    "Placement",
    "parse_ip",
]


class _NamedStr:
    """``str(member)`` is ``Enum.MEMBER`` whatever the Python version."""

    name: str

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class LLMRole(_NamedStr, IntEnum):
    PROMPT = 1
    DECODER = 2
    MIX = 3


class Placement(_NamedStr, IntEnum):
    HOST = 0
    DEVICE = 1


class DataType(Enum):
    """Element types; values follow ge::DataType."""

    DT_FLOAT = 0
    DT_FLOAT16 = 1
    DT_INT8 = 2
    DT_INT32 = 3
    DT_UINT8 = 4
    DT_INT16 = 6
    DT_UINT16 = 7
    DT_UINT32 = 8
    DT_INT64 = 9
    DT_UINT64 = 10
    DT_DOUBLE = 11
    DT_BOOL = 12
    DT_STRING = 13
    DT_BF16 = 27

    @property
    def itemsize(self) -> int:
        """Bytes per element; DT_STRING (variable length) has none and raises ValueError."""
        size = _ITEMSIZE.get(self)
        if size is None:
            raise ValueError(f"{self} has no fixed element size")
        return size


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
}


class CacheDesc:
    """num_tensors tensors of one shape and data type, on a placement; immutable."""

    __slots__ = (
        "_batch_dim_index",
        "_data_type",
        "_kv_tensor_format",
        "_num_tensors",
        "_placement",
        "_seq_len_dim_index",
        "_shape",
    )

    def __init__(
        self,
        num_tensors: int,
        shape: list[int] | tuple[int, ...],
        data_type: DataType,
        placement: Placement = Placement.DEVICE,
        batch_dim_index: int = 0,
        seq_len_dim_index: int = -1,
        kv_tensor_format: str | None = None,
    ) -> None:
        self._num_tensors = check_int("num_tensors", num_tensors, 1, UINT32_MAX)
        dims = check_int_sequence("shape", shape, 0, INT64_MAX)
        self._data_type = check_instance("data_type", data_type, DataType)
        self._placement = check_instance("placement", placement, Placement)
        self._batch_dim_index = check_int("batch_dim_index", batch_dim_index)
        self._seq_len_dim_index = check_int("seq_len_dim_index", seq_len_dim_index)
        if kv_tensor_format is not None:
            check_str("kv_tensor_format", kv_tensor_format)
        self._kv_tensor_format = kv_tensor_format
        if data_type not in _ITEMSIZE:
            raise ValueError(f"{data_type} has no fixed element size and cannot describe a cache")
        if not 0 <= self._batch_dim_index < len(dims):
            raise ValueError(
                f"batch_dim_index {batch_dim_index} is not a dimension of shape {dims}"
            )
        if self._seq_len_dim_index != -1 and not 0 <= self._seq_len_dim_index < len(dims):
            raise ValueError(
                f"seq_len_dim_index {seq_len_dim_index} is not -1 or a dimension of {dims}"
            )
        self._shape = tuple(dims)

    @property
    def num_tensors(self) -> int:
        return self._num_tensors

    @property
    def data_type(self) -> DataType:
        return self._data_type

    @property
    def placement(self) -> Placement:
        return self._placement

    @property
    def batch_dim_index(self) -> int:
        return self._batch_dim_index

    @property
    def seq_len_dim_index(self) -> int:
        return self._seq_len_dim_index

    @property
    def kv_tensor_format(self) -> str | None:
        return self._kv_tensor_format

    @property
    def shape(self) -> list[int]:
        return list(self._shape)

    @property
    def batch_size(self) -> int:
        """shape[batch_dim_index]: batch slices, or blocks of a blocks cache."""
        return self._shape[self._batch_dim_index]

    @property
    def size(self) -> int:
        """Bytes of one tensor."""
        return math.prod(self._shape) * _ITEMSIZE[self._data_type]

    def __repr__(self) -> str:
        return (
            f"CacheDesc({self._num_tensors}, {list(self._shape)}, {self._data_type}, "
            f"{self._placement}, batch_dim_index={self._batch_dim_index})"
        )


_KEY_FIELDS = ("cluster_id", "req_id", "model_id", "prefix_id")


class CacheKey:
    """(cluster_id, req_id, model_id=0, prefix_id=UINT64_MAX), positional or by keyword.

    ``prompt_cluster_id`` is accepted as the keyword for cluster_id. A key whose
    req_id is UINT64_MAX is a placeholder (allocate_cache).
    """

    __slots__ = ("_fields",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(_KEY_FIELDS):
            raise TypeError(f"CacheKey takes at most {len(_KEY_FIELDS)} arguments, got {len(args)}")
        values: dict[str, Any] = dict(zip(_KEY_FIELDS, args, strict=False))
        for keyword, value in kwargs.items():
            name = "cluster_id" if keyword == "prompt_cluster_id" else keyword
            if name not in _KEY_FIELDS:
                raise TypeError(f"CacheKey got an unexpected keyword argument {keyword!r}")
            if name in values:
                raise TypeError(f"CacheKey got multiple values for {name!r}")
            values[name] = value
        for required in ("cluster_id", "req_id"):
            if required not in values:
                raise TypeError(f"CacheKey is missing {required!r}")
        values.setdefault("model_id", 0)
        values.setdefault("prefix_id", UINT64_MAX)
        self._fields = tuple(check_uint64(name, values[name]) for name in _KEY_FIELDS)

    @property
    def cluster_id(self) -> int:
        return self._fields[0]

    @property
    def prompt_cluster_id(self) -> int:
        return self._fields[0]

    @property
    def req_id(self) -> int:
        return self._fields[1]

    @property
    def model_id(self) -> int:
        return self._fields[2]

    @property
    def prefix_id(self) -> int:
        return self._fields[3]

    @property
    def is_placeholder(self) -> bool:
        return self._fields[1] == UINT64_MAX

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CacheKey) and other._fields == self._fields

    def __hash__(self) -> int:
        return hash(("CacheKey", self._fields))

    def __repr__(self) -> str:
        return "CacheKey({}, {}, {}, {})".format(*self._fields)


class CacheKeyByIdAndIndex:
    """A batch index of a prompt-side cache named by its cache_id."""

    __slots__ = ("_fields",)

    def __init__(self, cluster_id: int, cache_id: int, batch_index: int = 0) -> None:
        self._fields = (
            check_uint64("cluster_id", cluster_id),
            check_int("cache_id", cache_id, -(2**63), INT64_MAX),
            check_int("batch_index", batch_index, 0, UINT32_MAX),
        )

    @property
    def cluster_id(self) -> int:
        return self._fields[0]

    @property
    def cache_id(self) -> int:
        return self._fields[1]

    @property
    def batch_index(self) -> int:
        return self._fields[2]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CacheKeyByIdAndIndex) and other._fields == self._fields

    def __hash__(self) -> int:
        return hash(("CacheKeyByIdAndIndex", self._fields))

    def __repr__(self) -> str:
        return "CacheKeyByIdAndIndex({}, {}, {})".format(*self._fields)


class BlocksCacheKey:
    """(cluster_id, model_id=0) naming a blocks cache; ``prompt_cluster_id`` is an alias keyword."""

    __slots__ = ("_fields",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        names = ("cluster_id", "model_id")
        if len(args) > 2:
            raise TypeError(f"BlocksCacheKey takes at most 2 arguments, got {len(args)}")
        values: dict[str, Any] = dict(zip(names, args, strict=False))
        for keyword, value in kwargs.items():
            name = "cluster_id" if keyword == "prompt_cluster_id" else keyword
            if name not in names:
                raise TypeError(f"BlocksCacheKey got an unexpected keyword argument {keyword!r}")
            if name in values:
                raise TypeError(f"BlocksCacheKey got multiple values for {name!r}")
            values[name] = value
        if "cluster_id" not in values:
            raise TypeError("BlocksCacheKey is missing 'cluster_id'")
        values.setdefault("model_id", 0)
        self._fields = (
            check_uint64("cluster_id", values["cluster_id"]),
            check_uint64("model_id", values["model_id"]),
        )

    @property
    def cluster_id(self) -> int:
        return self._fields[0]

    @property
    def prompt_cluster_id(self) -> int:
        return self._fields[0]

    @property
    def model_id(self) -> int:
        return self._fields[1]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlocksCacheKey) and other._fields == self._fields

    def __hash__(self) -> int:
        return hash(("BlocksCacheKey", self._fields))

    def __repr__(self) -> str:
        return "BlocksCacheKey({}, {})".format(*self._fields)


class Cache:
    """A cache: its id, its CacheDesc and one host address per tensor.

    Returned by the CacheManager or by :meth:`create_cpu_cache`; users do not
    construct it. ``_owner`` is the CacheManager that allocated it (None for cpu
    caches); ``_keepalive`` keeps the memory behind ``tensor_addrs`` mapped.
    """

    __slots__ = (
        "_cache_desc",
        "_cache_id",
        "_is_blocks_cache",
        "_keepalive",
        "_owner",
        "_tensor_addrs",
    )

    def __init__(
        self,
        cache_id: int,
        cache_desc: CacheDesc,
        tensor_addrs: Sequence[int],
        is_blocks_cache: bool = False,
    ) -> None:
        self._cache_id = check_int("cache_id", cache_id)
        self._cache_desc = check_instance("cache_desc", cache_desc, CacheDesc)
        self._tensor_addrs = tuple(check_int_sequence("tensor_addrs", tensor_addrs, 0, UINT64_MAX))
        self._is_blocks_cache = bool(is_blocks_cache)
        self._owner: Any = None
        self._keepalive: Any = None

    @property
    def cache_id(self) -> int:
        return self._cache_id

    @property
    def cache_desc(self) -> CacheDesc:
        return self._cache_desc

    @property
    def is_blocks_cache(self) -> bool:
        return self._is_blocks_cache

    @property
    def tensor_addrs(self) -> list[int]:
        return list(self._tensor_addrs)

    @classmethod
    def create_cpu_cache(cls, cache_desc: CacheDesc, addrs: list[int]) -> Cache:
        """Wrap caller-owned host memory (one address per tensor) as a HOST blocks cache."""
        if cache_desc is None or addrs is None:
            raise AttributeError("create_cpu_cache: cache_desc and addrs must not be None")
        check_instance("cache_desc", cache_desc, CacheDesc)
        addresses = check_int_sequence("addrs", addrs, 1, UINT64_MAX)
        if cache_desc.placement != Placement.HOST:
            raise ValueError("create_cpu_cache needs a CacheDesc with Placement.HOST")
        if len(addresses) != cache_desc.num_tensors:
            raise ValueError(
                f"create_cpu_cache needs {cache_desc.num_tensors} addresses, got {len(addresses)}"
            )
        return cls(-1, cache_desc, addresses, True)

    def __repr__(self) -> str:
        return f"Cache(cache_id={self._cache_id}, {self._cache_desc!r})"


def parse_ip(name: str, ip: Any) -> int:
    """An IPv4 address as an int, from a dotted str or an int."""
    if isinstance(ip, str):
        try:
            return int(ipaddress.IPv4Address(ip))
        except ipaddress.AddressValueError as exc:
            raise ValueError(f"{name}: {ip!r} is not an IPv4 address") from exc
    if isinstance(ip, int) and not isinstance(ip, bool):
        return check_int(name, ip, 0, UINT32_MAX)
    raise TypeError(f"{name} must be a str or an int, got {type_name(ip)}")


class LLMClusterInfo:
    """A remote cluster to link: its id and the addresses to reach it."""

    def __init__(self) -> None:
        self._remote_cluster_id = 0
        self._remote_role_type: LLMRole | None = None
        self._local_ip_info: list[tuple[int, int]] = []
        self._remote_ip_info: list[tuple[int, int]] = []

    @property
    def remote_cluster_id(self) -> int:
        return self._remote_cluster_id

    @remote_cluster_id.setter
    def remote_cluster_id(self, value: int) -> None:
        self._remote_cluster_id = check_uint64("remote_cluster_id", value)

    @property
    def remote_role_type(self) -> LLMRole | None:
        return self._remote_role_type

    @remote_role_type.setter
    def remote_role_type(self, value: LLMRole) -> None:
        self._remote_role_type = check_instance("remote_role_type", value, LLMRole)

    @property
    def local_ip_info_list(self) -> list[dict[str, int]]:
        return [{"ip": ip, "port": port} for ip, port in self._local_ip_info]

    @property
    def remote_ip_info_list(self) -> list[dict[str, int]]:
        return [{"ip": ip, "port": port} for ip, port in self._remote_ip_info]

    def append_local_ip_info(self, ip: str | int, port: int) -> None:
        self._local_ip_info.append((parse_ip("ip", ip), check_int("port", port, 0, UINT16_MAX)))

    def append_remote_ip_info(self, ip: str | int, port: int) -> None:
        self._remote_ip_info.append((parse_ip("ip", ip), check_int("port", port, 0, UINT16_MAX)))
