"""The style rule "no class over about fifteen methods", checked so that it cannot regress.

Methods are the functions defined directly in a class body (properties and dunders included;
a nested class is counted on its own). A class listed in EXCEPTIONS may keep at most the
number of methods given there, for the reason given: the ceiling is today's count, so the
exception cannot grow silently either.
"""

from __future__ import annotations

import ast
from pathlib import Path

import datadist_conformance

LIMIT = 15
PACKAGE = Path(datadist_conformance.__file__).parent

#: (path relative to the package, class) -> (most methods allowed, why it is not split)
EXCEPTIONS: dict[tuple[str, str], tuple[int, str]] = {
    ("suite/test_lifecycle_machine.py", "LifecycleMachine"): (
        19,
        "a hypothesis RuleBasedStateMachine: each @rule is one step of the one machine, and "
        "hypothesis draws its steps from the rules of that class",
    ),
    ("peer/server.py", "Server"): (
        16,
        "the helper's side of the wire protocol: one op_* method per request kind, dispatched "
        "by name",
    ),
}


def method_counts(source: str) -> dict[str, int]:
    """Class name -> number of functions defined directly in its body, for every class."""
    return {
        node.name: sum(isinstance(b, ast.FunctionDef | ast.AsyncFunctionDef) for b in node.body)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ClassDef)
    }


def package_counts() -> dict[tuple[str, str], int]:
    return {
        (path.relative_to(PACKAGE).as_posix(), name): count
        for path in sorted(PACKAGE.rglob("*.py"))
        for name, count in method_counts(path.read_text(encoding="utf-8")).items()
    }


def test_method_counter_counts_methods_of_nested_and_async_classes() -> None:
    source = (
        "class A:\n    def f(self): ...\n    async def g(self): ...\n"
        "    @property\n    def p(self): ...\n    x = 1\n"
        "    class B:\n        def h(self): ...\n"
    )
    assert method_counts(source) == {"A": 3, "B": 1}


def test_no_class_has_more_than_fifteen_methods() -> None:
    counts = package_counts()
    assert len(counts) > 50, f"found only {len(counts)} classes under {PACKAGE}"
    over = {
        f"{path}:{name}": count
        for (path, name), count in counts.items()
        if count > EXCEPTIONS.get((path, name), (LIMIT, ""))[0]
    }
    assert over == {}, (
        f"classes over {LIMIT} methods (split them, or list them in EXCEPTIONS with a reason): "
        f"{over}"
    )


def test_every_exception_is_still_needed() -> None:
    counts = package_counts()
    stale = {
        f"{path}:{name}": counts.get((path, name))
        for (path, name) in EXCEPTIONS
        if counts.get((path, name), 0) <= LIMIT
    }
    assert stale == {}, f"EXCEPTIONS lists classes that are gone or within {LIMIT}: {stale}"
