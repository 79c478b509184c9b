"""Argument checks, mirroring the vendor's: TypeError for a wrong type, ValueError for an integer
out of its C range. `bool` passes as `int` because the vendor checks with isinstance."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "INVALID_ID",
    "check_dict",
    "check_int32",
    "check_int64",
    "check_isinstance",
    "check_uint16",
    "check_uint32",
    "check_uint64",
    "type_name",
]

INVALID_ID = 2**64 - 1
"""UINT64_MAX: the 'no id' value of req_id and prefix_id."""

_UINT16_MAX = 2**16 - 1
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1
_UINT32_MAX = 2**32 - 1
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_UINT64_MAX = 2**64 - 1


def type_name(value: object) -> str:
    return type(value).__name__


def _classes(classes: type | tuple[type, ...]) -> tuple[type, ...]:
    return classes if isinstance(classes, tuple) else (classes,)


def check_isinstance(
    name: str,
    value: object,
    classes: type | tuple[type, ...],
    inner: type | tuple[type, ...] | None = None,
    *,
    allow_none: bool = False,
) -> None:
    """TypeError unless `value` is one of `classes` (and, for containers, every item one of `inner`)."""
    if value is None and allow_none:
        return
    wanted = _classes(classes)
    if not isinstance(value, wanted):
        names = [cls.__name__ for cls in wanted]
        raise TypeError(f"{name} only support {names}, but got {type_name(value)}.")
    if inner is not None:
        inner_wanted = _classes(inner)
        for item in value:  # type: ignore[attr-defined]
            if not isinstance(item, inner_wanted):
                names = [cls.__name__ for cls in inner_wanted]
                raise TypeError(
                    f"{name} inner type only support {names}, but got {type_name(item)}."
                )


def _check_int_range(name: str, value: object, low: int, high: int, c_type: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{name} only support ['int'], but got {type_name(value)}.")
    if value < low or value > high:
        raise ValueError(f"{name}'s value is out of range, {value} is not a {c_type} value.")
    return value


def check_uint16(name: str, value: object) -> int:
    return _check_int_range(name, value, 0, _UINT16_MAX, "uint16")


def check_int32(name: str, value: object) -> int:
    return _check_int_range(name, value, _INT32_MIN, _INT32_MAX, "int32")


def check_uint32(name: str, value: object) -> int:
    return _check_int_range(name, value, 0, _UINT32_MAX, "uint32")


def check_int64(name: str, value: object) -> int:
    return _check_int_range(name, value, _INT64_MIN, _INT64_MAX, "int64")


def check_uint64(name: str, value: object) -> int:
    return _check_int_range(name, value, 0, _UINT64_MAX, "uint64")


def check_dict(
    name: str,
    value: dict[Any, Any],
    key_class: type,
    value_class: type,
    value_inner: type | None = None,
) -> None:
    """TypeError unless every key and value (and item of a container value) has the given type."""
    for key, item in value.items():
        if not isinstance(key, key_class):
            raise TypeError(
                f"{name} dict key only support {key_class.__name__}, but got {type_name(key)}."
            )
        if not isinstance(item, value_class):
            raise TypeError(
                f"{name} dict value only support {value_class.__name__}, but got {type_name(item)}."
            )
        if value_inner is not None and isinstance(item, (list, tuple)):
            _check_items(f"{name} dict value", item, value_inner)


def _check_items(name: str, items: Iterable[object], cls: type) -> None:
    for item in items:
        if not isinstance(item, cls):
            raise TypeError(
                f"{name} inner type only support {cls.__name__}, but got {type_name(item)}."
            )
