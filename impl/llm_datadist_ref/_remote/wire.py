"""Control messages: msgpack maps with an ``op`` and typed fields, bounded in size and depth.

A message that is not valid msgpack, is too large, is not a map of known shape, or carries a
field of the wrong type raises `MalformedMessage`; the listener then drops that peer.
"""

from __future__ import annotations

from typing import Any

import msgpack

__all__ = ["MAX_MESSAGE_BYTES", "MalformedMessage", "decode", "encode", "field", "int_list"]

# Requests name at most a few keys and block lists; 4 MiB leaves room for 100k-block pulls.
MAX_MESSAGE_BYTES = 4 << 20
_MAX_LIST = 1 << 20


class MalformedMessage(ValueError):
    """A control message that this side cannot act on."""


def encode(message: dict[str, Any]) -> bytes:
    return msgpack.packb(message, use_bin_type=True)  # type: ignore[no-any-return]


def decode(data: bytes) -> dict[str, Any]:
    if len(data) > MAX_MESSAGE_BYTES:
        raise MalformedMessage(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    try:
        message = msgpack.unpackb(
            data,
            raw=False,
            strict_map_key=True,
            max_bin_len=MAX_MESSAGE_BYTES,
            max_str_len=1 << 16,
            max_array_len=_MAX_LIST,
            max_map_len=64,
            max_ext_len=0,
        )
    except Exception as error:  # msgpack raises several unrelated types for bad input
        raise MalformedMessage(f"not a msgpack message: {error}") from None
    if not isinstance(message, dict) or not isinstance(
        message.get("op", message.get("ok")), (str, bool)
    ):
        raise MalformedMessage("a message is a map with an 'op' (request) or 'ok' (reply)")
    return message


def field(message: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``message[name]``, which must be of ``kind`` (bool is not an int here)."""
    value = message.get(name)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (
        value is None
        or (isinstance(value, bool) and bool not in kinds)
        or not isinstance(value, kinds)
    ):
        raise MalformedMessage(f"field {name!r} must be {'/'.join(k.__name__ for k in kinds)}")
    return value


def int_list(message: dict[str, Any], name: str) -> list[int]:
    values: list[int] = field(message, name, list)
    if not all(type(v) is int for v in values):
        raise MalformedMessage(f"field {name!r} must be a list of ints")
    return values
