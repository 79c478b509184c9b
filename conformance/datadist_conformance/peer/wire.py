"""What travels between the test process and the helper: plain data plus three markers.

Plain values (None, bool, int, float, str, bytes, list, tuple, dict) travel as they are
(pickled over a socket pair between two processes of the suite). A target object travels as
a :class:`Handle` to the object the helper holds, an enum member of the target as an
:class:`EnumRef`, and an object the test process built from a target class (a CacheKey, a
CacheDesc) as the :class:`Construct` recipe that builds it again on the other side. An
exception raised by the target travels as a :class:`Raised`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Construct", "EnumRef", "Handle", "Raised"]


@dataclass(frozen=True)
class Handle:
    """An object held by the helper process."""

    id: int
    type_name: str


@dataclass(frozen=True)
class EnumRef:
    """``m.<type_name>.<member>`` of the target."""

    type_name: str
    member: str


@dataclass(frozen=True)
class Construct:
    """``m.<path>(*args, **kwargs)``: the recipe of an object built in the other process."""

    path: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Raised:
    """An exception of a call in the helper: its kind (``LLMException`` when it is the
    target's, else the name of its builtin type, else ``other``), status code, and text."""

    kind: str
    type_name: str
    status_code: int | None
    message: str
