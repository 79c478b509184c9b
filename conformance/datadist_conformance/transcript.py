"""Record every call the suite makes on a target, as Python that replays it.

Templates never call the target directly: they go through a :class:`Transcript`
(via the scenario), which performs the call and writes it down, naming each
object the target returns (``v3 = cm1.allocate_cache(...)``). When a check
fails, the transcript of that example is the replay snippet in the report: a call
that raised and was caught runs inside ``with replay.raised(...)``, and the failed
check replaces the last call with its replayable form (see :meth:`replace_last`).
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["LiveFile", "Transcript"]

#: Values rendered with repr(); anything else gets a name.
_LITERALS = (bool, int, float, str, bytes, type(None))
#: Plain data returned by the target: shown in a comment, never named.
_PLAIN = (*_LITERALS, list, tuple, dict)

#: Integers at least this large are looked up as aliases (addresses), never smaller ones.
_ALIAS_MIN = 1 << 20


class LiveFile:
    """A file that always holds the transcript of the running example, the call in progress
    included: when the test process dies inside a call (a crash, a hang), the runner makes it
    the replay of the test that was running. One per test process, open for the session; with
    no path, it keeps nothing."""

    def __init__(self, path: str | None) -> None:
        self._file = open(path, "w", encoding="utf-8") if path else None  # noqa: SIM115

    def rewrite(self, text: str) -> None:
        if self._file is None:
            return
        self._file.seek(0)
        self._file.truncate()
        self._file.write(text)
        self._file.flush()

    def append(self, line: str) -> None:
        if self._file is None:
            return
        self._file.write(line + "\n")
        self._file.flush()  # in the kernel's hands: it outlives a crash of this process

    def pending(self, line: str) -> int:
        """Write the call about to be made; returns where, for :meth:`settle`."""
        if self._file is None:
            return 0
        position = self._file.tell()
        self.append(f"{line}  # in progress when the test process died")
        return position

    def settle(self, position: int) -> None:
        """The call returned (or raised): take its in-progress line back."""
        if self._file is not None:
            self._file.seek(position)
            self._file.truncate()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class Transcript:
    """The calls of one test example, as runnable Python."""

    def __init__(self, module_name: str, header: str = "", live: LiveFile | None = None) -> None:
        self.module_name = module_name
        self.header = header
        self.live = live or LiveFile(None)
        self.live.rewrite(header.rstrip("\n") + "\n")
        self.lines: list[str] = []
        self._names: dict[int, str] = {}
        self._keepalive: list[Any] = []  # objects stay alive so that their ids stay unique
        self._int_aliases: dict[int, str] = {}
        self._counter = 0
        self._indent = ""
        #: the last call recorded: where its lines start, and it as an expression
        self.last_call: tuple[int, str] = (0, "")
        self.module: Any = None  #: the target module, whose classes render as m.<name>

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
        return _render_other(value, self.render, self.module)

    def render_args(self, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
        parts = [self.render(a) for a in args] + [
            f"{k}={self.render(v)}" for k, v in kwargs.items()
        ]
        return ", ".join(parts)

    # -- recording --------------------------------------------------------------------------------

    def add(self, line: str) -> None:
        self.lines.append(self._indent + line)
        self.live.append(self._indent + line)

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
        self.last_call = (len(self.lines), source)
        position = self.live.pending(self._indent + source)
        try:
            result = function(*args, **kwargs)
        except BaseException as exc:
            self.live.settle(position)
            for raised in _raised(source, exc):
                self.add(raised)
            raise
        self.live.settle(position)
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
        expression = f"setattr({self.render(obj)}, {attribute!r}, {self.render(value)})"
        self.last_call = (len(self.lines), expression)
        position = self.live.pending(self._indent + line)
        try:
            setattr(obj, attribute, value)
        except BaseException as exc:
            self.live.settle(position)
            for raised in _raised(line, exc):
                self.add(raised)
            raise
        self.live.settle(position)
        self.add(line)

    def replace_last(self, *lines: str, start: int | None = None) -> None:
        """Put ``lines`` where the last call was recorded (the failed check makes that call),
        or in place of the lines from ``start`` on."""
        del self.lines[self.last_call[0] if start is None else start :]
        self.live.rewrite(self.source())
        for line in lines:
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


def _raised(statement: str, exc: BaseException) -> list[str]:
    """A statement that raised: the snippet runs it inside ``replay.raised``, so that it goes
    on when the check caught the exception (the final check replaces it when it did not)."""
    return [f"with replay.raised({type(exc).__name__!r}):  # {_one_line(exc)}", f"    {statement}"]


def _render_other(value: Any, render: Callable[[Any], str], module: Any) -> str:
    """Sets, classes, and as a last resort a call that says the value has no source form."""
    if isinstance(value, set | frozenset):
        kind = "set" if isinstance(value, set) else "frozenset"
        if not value:
            return f"{kind}()"
        items = "{" + ", ".join(sorted(render(v) for v in value)) + "}"
        return items if kind == "set" else f"frozenset({items})"
    if isinstance(value, type):
        name: str = value.__name__
        if getattr(builtins, name, None) is value:
            return name
        if getattr(module, name, None) is value:
            return f"m.{name}"
    if type(value) is object:
        return "object()"
    return f"replay.unreproducible({repr(value)!r})"


def _one_line(exc: BaseException) -> str:
    return _short(str(exc).replace("\n", " "))


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
