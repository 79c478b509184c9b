"""What the surface templates ask of a signature, as functions a replay can call too.

The template and the replay judge a parameter list with the same code, so a replay of a
surface failure recomputes exactly the check that failed.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Sequence
from typing import Any

__all__ = [
    "defaults_to",
    "documented_value",
    "has_var_keyword",
    "parameters",
    "parameters_match",
    "required",
    "same_value",
]


def parameters(obj: Any) -> list[inspect.Parameter]:
    """The parameters of ``obj`` a caller can pass by name or position: all but self and
    ``**kwargs``. Raises TypeError or ValueError when ``obj`` has no introspectable signature."""
    return [
        p
        for p in inspect.signature(obj).parameters.values()
        if p.name != "self" and p.kind is not inspect.Parameter.VAR_KEYWORD
    ]


def parameters_match(obj: Any, names: Sequence[str], exact: bool) -> bool:
    """Whether the parameters of ``obj`` are ``names``; unless ``exact``, whether they start
    with ``names`` and every further one is optional."""
    params = parameters(obj)
    actual = [p.name for p in params]
    if exact:
        return actual == list(names)
    extra = params[len(names) :]
    return actual[: len(names)] == list(names) and all(
        p.default is not inspect.Parameter.empty for p in extra
    )


def has_var_keyword(obj: Any) -> bool:
    """Whether ``obj`` takes ``**kwargs``."""
    return any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in inspect.signature(obj).parameters.values()
    )


def required(obj: Any, position: int) -> bool:
    """Whether the parameter at ``position`` (of :func:`parameters`) has no default."""
    return parameters(obj)[position].default is inspect.Parameter.empty


def documented_value(text: str, module: Any) -> Any:
    """The value of a documented default: a literal, or Enum.MEMBER of the target ``module``."""
    try:
        return ast.literal_eval(text)
    except ValueError:
        enum_name, _, member = text.partition(".")
        return getattr(getattr(module, enum_name), member)


def same_value(actual: Any, expected: Any) -> bool:
    """Equal, and for a container of the same type (a list default is not a tuple)."""
    if isinstance(expected, list | tuple | dict):
        return type(actual) is type(expected) and actual == expected
    return bool(actual == expected)


def defaults_to(obj: Any, position: int, text: str, module: Any) -> bool:
    """Whether the parameter at ``position`` defaults to the documented default ``text``."""
    default = parameters(obj)[position].default
    return default is not inspect.Parameter.empty and same_value(
        default, documented_value(text, module)
    )
