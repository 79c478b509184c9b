"""The document's type expressions, parsed into a small immutable AST.

The seed writes parameter types as Python typing strings
(``Union[Tuple[CacheKey], List[CacheKey]]``, ``Optional[int]``,
``Dict[int, List[int]]``, ``string``). :func:`parse` turns one into a
:class:`TypeExpr`; ``str()`` gives it back in canonical spelling (``", "``
between arguments), which is how the seed spells every expression, so
``str(parse(s)) == s`` holds for all of them.

Grammar::

    expr := NAME [ "[" expr ("," expr)* "]" ]
    NAME := identifier ("." identifier)*
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["GENERICS", "TypeExpr", "TypeExprError", "parse"]

#: Generic names and how many arguments each takes (None: one or more).
GENERICS: dict[str, int | None] = {
    "Union": None,
    "Optional": 1,
    "List": 1,
    "Tuple": None,  # one argument: any length (erratum E-tuple-typing); several: fixed
    "Dict": 2,
}

#: Spellings of builtin types in the document, mapped to Python's name.
ALIASES: dict[str, str] = {"string": "str"}

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(?P<punct>[\[\],]))"
)


class TypeExprError(ValueError):
    """A type expression that the grammar does not accept."""


@dataclass(frozen=True)
class TypeExpr:
    """A type: a name, with arguments when it is a generic (``Dict[int, int]``)."""

    name: str
    args: tuple[TypeExpr, ...] = ()

    def __str__(self) -> str:
        if not self.args:
            return self.name
        return f"{self.name}[{', '.join(str(arg) for arg in self.args)}]"

    @property
    def python_name(self) -> str:
        """The name with the document's aliases resolved (``string`` -> ``str``)."""
        return ALIASES.get(self.name, self.name)

    def alternatives(self) -> tuple[TypeExpr, ...]:
        """The types a value may have: Union and Optional flattened, None included."""
        if self.name == "Union":
            return tuple(alt for arg in self.args for alt in arg.alternatives())
        if self.name == "Optional":
            return (*self.args[0].alternatives(), TypeExpr("None"))
        return (self,)

    def admits_none(self) -> bool:
        return any(alt.name == "None" for alt in self.alternatives())

    def names(self) -> frozenset[str]:
        """Every name used in the expression, generics included."""
        return frozenset({self.name}).union(*(arg.names() for arg in self.args))


def parse(text: str) -> TypeExpr:
    """Parse a type expression, or raise :class:`TypeExprError` naming the problem."""
    tokens = _tokenize(text)
    expr, pos = _parse_expr(tokens, 0, text)
    if pos != len(tokens):
        raise TypeExprError(f"unexpected {tokens[pos]!r} at the end of {text!r}")
    return expr


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise TypeExprError(f"unexpected character {text[pos]!r} in {text!r}")
        tokens.append(match.group("name") or match.group("punct"))
        pos = match.end()
    if not tokens:
        raise TypeExprError("empty type expression")
    return tokens


def _parse_expr(tokens: list[str], pos: int, text: str) -> tuple[TypeExpr, int]:
    name = tokens[pos]
    if name in {"[", "]", ","}:
        raise TypeExprError(f"expected a type name, found {name!r} in {text!r}")
    pos += 1
    if pos == len(tokens) or tokens[pos] != "[":
        if name in GENERICS:
            raise TypeExprError(f"{name} needs arguments in {text!r}")
        return TypeExpr(name), pos
    if name not in GENERICS:
        raise TypeExprError(f"{name} is not a generic ({', '.join(GENERICS)}) in {text!r}")
    args: list[TypeExpr] = []
    pos += 1
    while True:
        if pos == len(tokens):
            raise TypeExprError(f"unclosed '[' in {text!r}")
        arg, pos = _parse_expr(tokens, pos, text)
        args.append(arg)
        if pos == len(tokens):
            raise TypeExprError(f"unclosed '[' in {text!r}")
        if tokens[pos] == "]":
            pos += 1
            break
        if tokens[pos] != ",":
            raise TypeExprError(f"expected ',' or ']' after {arg} in {text!r}")
        pos += 1
    arity = GENERICS[name]
    if arity is not None and len(args) != arity:
        raise TypeExprError(f"{name} takes {arity} argument(s), got {len(args)} in {text!r}")
    return TypeExpr(name, tuple(args)), pos
