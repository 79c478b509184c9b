"""Argument checks: TypeError for a wrong type, ValueError for a value out of range."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = [
    "INT32_MAX",
    "INT64_MAX",
    "UINT16_MAX",
    "UINT32_MAX",
    "UINT64_MAX",
    "check_bool",
    "check_instance",
    "check_int",
    "check_int_sequence",
    "check_sequence",
    "check_str",
    "check_uint64",
    "type_name",
]

UINT16_MAX = 2**16 - 1
UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

T = TypeVar("T")


def type_name(value: Any) -> str:
    return type(value).__name__


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int (bool is refused); ValueError outside [minimum, maximum]."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type_name(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def check_uint64(name: str, value: Any) -> int:
    return check_int(name, value, 0, UINT64_MAX)


def check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type_name(value)}")
    return value


def check_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type_name(value)}")
    return value


def check_instance(name: str, value: Any, cls: type[T]) -> T:
    if not isinstance(value, cls):
        raise TypeError(f"{name} must be a {cls.__name__}, got {type_name(value)}")
    return value


def check_sequence(name: str, value: Any, item: Callable[[str, Any], T]) -> list[T]:
    """A list or tuple, each element checked by ``item``."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list or tuple, got {type_name(value)}")
    return [item(f"{name}[{i}]", element) for i, element in enumerate(value)]


def check_int_sequence(
    name: str, value: Any, minimum: int | None = None, maximum: int | None = None
) -> list[int]:
    return check_sequence(name, value, lambda n, v: check_int(n, v, minimum, maximum))
