"""Which Python values a documented type expression admits, judged against a target."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType
from typing import Any, cast

from .speclib import TypeExpr

__all__ = ["admits"]


def admits(
    value: Any, expr: TypeExpr, module: ModuleType, *, lenient_sequences: bool = False
) -> bool | None:
    """Whether ``value`` has a type that ``expr`` allows; None when the suite cannot judge.

    ``lenient_sequences`` treats list and tuple alike: the suite never calls a
    tuple passed for a List (or the reverse) a wrong type, since a reader of the
    document could go either way.
    """
    verdicts = [_admits_one(value, alt, module, lenient_sequences) for alt in expr.alternatives()]
    if any(v is True for v in verdicts):
        return True
    if any(v is None for v in verdicts):
        return None
    return False


def _admits_one(value: Any, expr: TypeExpr, module: ModuleType, lenient: bool) -> bool | None:
    name = expr.python_name
    if name == "None":
        return value is None
    if name == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "bool":
        return isinstance(value, bool)
    if name in {"str", "float", "range"}:
        return isinstance(value, {"str": str, "float": float, "range": range}[name])
    if name in {"List", "Tuple"}:
        kinds: tuple[type, ...] = (
            (list, tuple) if lenient else ((list,) if name == "List" else (tuple,))
        )
        if not isinstance(value, kinds):
            return False
        items: Sequence[Any] = cast(Sequence[Any], value)
        if name == "Tuple" and len(expr.args) > 1:
            return len(items) == len(expr.args) and _all(
                [
                    admits(v, a, module, lenient_sequences=lenient)
                    for v, a in zip(items, expr.args, strict=True)
                ]
            )
        return _all([admits(v, expr.args[0], module, lenient_sequences=lenient) for v in items])
    if name == "Dict":
        if not isinstance(value, dict):
            return False
        key_type, value_type = expr.args
        return _all(
            [admits(k, key_type, module, lenient_sequences=lenient) for k in value]
            + [admits(v, value_type, module, lenient_sequences=lenient) for v in value.values()]
        )
    cls = getattr(module, name, None)
    if isinstance(cls, type):
        return isinstance(value, cls)
    return None


def _all(verdicts: list[bool | None]) -> bool | None:
    if any(v is False for v in verdicts):
        return False
    if any(v is None for v in verdicts):
        return None
    return True
