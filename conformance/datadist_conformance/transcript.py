"""Record every call the suite makes on a target, as Python that replays it.

Templates never call the target directly: they go through a :class:`Transcript`
(via the scenario), which performs the call and writes it down, naming each
object the target returns (``v3 = cm1.allocate_cache(...)``). When a check
fails, the transcript of that example is the replay snippet in the report.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Transcript"]

#: Values rendered with repr(); anything else gets a name.
_LITERALS = (bool, int, float, str, bytes, type(None))
#: Plain data returned by the target: shown in a comment, never named.
_PLAIN = (*_LITERALS, list, tuple, dict)

#: Integers at least this large are looked up as aliases (addresses), never smaller ones.
_ALIAS_MIN = 1 << 20


class Transcript:
    """The calls of one test example, as runnable Python."""

    def __init__(self, module_name: str, header: str = "") -> None:
        self.module_name = module_name
        self.header = header
        self.lines: list[str] = []
        self._names: dict[int, str] = {}
        self._keepalive: list[Any] = []  # objects stay alive so that their ids stay unique
        self._int_aliases: dict[int, str] = {}
        self._counter = 0
        self._indent = ""

    # -- naming ---------------------------------------------------------------------------------

    def name(self, value: Any, prefix: str = "v") -> str:
        """Give ``value`` a variable name (once) and return it."""
        existing = self._names.get(id(value))
        if existing is not None:
            return existing
        self._counter += 1
        name = f"{prefix}{self._counter}"
        self.bind(value, name)
        return name

    def bind(self, value: Any, expression: str) -> None:
        """Render ``value`` as ``expression`` from now on (e.g. an enum member as m.Placement.HOST)."""
        if isinstance(value, int) and not isinstance(value, bool | enum.Enum):
            if value >= _ALIAS_MIN:
                self._int_aliases[value] = expression
            return
        self._names[id(value)] = expression
        self._keepalive.append(value)

    def render(self, value: Any) -> str:
        """Python source for ``value``: its name, a literal, or a container of those."""
        known = self._names.get(id(value))
        if known is not None:
            return known
        if isinstance(value, enum.Enum):
            return f"m.{type(value).__name__}.{value.name}"
        if isinstance(value, int) and not isinstance(value, bool) and value in self._int_aliases:
            return self._int_aliases[value]
        if isinstance(value, _LITERALS):
            return repr(value)
        if isinstance(value, list):
            return "[" + ", ".join(self.render(v) for v in value) + "]"
        if isinstance(value, tuple):
            inner = ", ".join(self.render(v) for v in value)
            return f"({inner},)" if len(value) == 1 else f"({inner})"
        if isinstance(value, dict):
            return (
                "{"
                + ", ".join(f"{self.render(k)}: {self.render(v)}" for k, v in value.items())
                + "}"
            )
        if isinstance(value, range):
            return repr(value)
        return f"{value!r}  # (not reproducible as source)"

    def render_args(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        parts = [self.render(a) for a in args] + [
            f"{k}={self.render(v)}" for k, v in kwargs.items()
        ]
        return ", ".join(parts)

    # -- recording --------------------------------------------------------------------------------

    def add(self, line: str) -> None:
        self.lines.append(self._indent + line)

    def comment(self, text: str) -> None:
        self.add(f"# {text}")

    def begin_block(self, header: str) -> None:
        """Start an indented block (``with ...:``); lines go inside until :meth:`end_block`."""
        self.add(header)
        self._indent += "    "

    def end_block(self) -> None:
        self._indent = self._indent[:-4]

    def invoke(
        self,
        expression: str,
        function: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        prefix: str = "v",
    ) -> Any:
        """Call ``function`` (written as ``expression``), record it, and name what it returns."""
        kwargs = dict(kwargs or {})
        source = f"{expression}({self.render_args(args, kwargs)})"
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:
            self.add(f"{source}  # raises {type(exc).__name__}: {_one_line(exc)}")
            raise
        if result is None:
            self.add(source)
        elif isinstance(result, _PLAIN):
            self.add(f"{source}  # -> {_short(repr(result))}")
        else:
            self.add(f"{self.name(result, prefix)} = {source}")
        return result

    def call(self, obj: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        """``obj.method(*args, **kwargs)``, recorded."""
        return self.invoke(f"{self.render(obj)}.{method}", getattr(obj, method), args, kwargs)

    def set(self, obj: Any, attribute: str, value: Any) -> None:
        """``obj.attribute = value``, recorded."""
        line = f"{self.render(obj)}.{attribute} = {self.render(value)}"
        try:
            setattr(obj, attribute, value)
        except BaseException as exc:
            self.add(f"{line}  # raises {type(exc).__name__}: {_one_line(exc)}")
            raise
        self.add(line)

    def get(self, obj: Any, attribute: str, prefix: str = "v") -> Any:
        """``obj.attribute``; named when it is an object of the target."""
        value = getattr(obj, attribute)
        if not isinstance(value, _PLAIN) and id(value) not in self._names:
            self.add(f"{self.name(value, prefix)} = {self.render(obj)}.{attribute}")
        return value

    def source(self) -> str:
        """The whole snippet."""
        return "\n".join([self.header, *self.lines]).strip() + "\n"


def _one_line(exc: BaseException) -> str:
    return _short(str(exc).replace("\n", " "))


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
