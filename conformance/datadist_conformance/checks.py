"""Failures of the target against a clause, the checking part of a scenario, and the outcome
words the suite uses for skips."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .peer.client import PeerError

if TYPE_CHECKING:
    from .speclib import Clause
    from .target import Target
    from .transcript import Transcript

__all__ = [
    "NOT_APPLICABLE",
    "UNTESTABLE",
    "UNTESTABLE_EVERYWHERE",
    "Checker",
    "ConformanceFailure",
    "PreconditionError",
    "describe",
    "not_applicable",
    "require",
    "untestable",
    "untestable_everywhere",
]

#: Prefixes of skip reasons; the plugin turns them into outcomes.
NOT_APPLICABLE = "not-applicable: "
UNTESTABLE = "untestable: "
UNTESTABLE_EVERYWHERE = "untestable everywhere: "


class ConformanceFailure(AssertionError):
    """The target does not do what a clause says. Carries what a report shows."""

    def __init__(
        self, clause_id: str, clause_text: str, call: str, expected: str, observed: str, replay: str
    ) -> None:
        self.clause_id = clause_id
        self.clause_text = clause_text
        self.call = call
        self.expected = expected
        self.observed = observed
        self.replay = replay
        super().__init__(
            f"[{clause_id}] {clause_text}\n"
            f"  call:     {call}\n"
            f"  expected: {expected}\n"
            f"  observed: {observed}\n"
            f"  replay:\n{_indent(replay)}"
        )


class PreconditionError(RuntimeError):
    """Setting up a check failed (the engine did not start, a needed call failed): outcome error."""

    def __init__(self, what: str, detail: str, replay: str) -> None:
        self.replay = replay
        super().__init__(f"precondition failed: {what}: {detail}\n  replay:\n{_indent(replay)}")


def not_applicable(reason: str) -> NoReturn:
    pytest.skip(NOT_APPLICABLE + reason)


def untestable(reason: str) -> NoReturn:
    """This target (its adapter, its configuration) gives the suite no way to check the clause."""
    pytest.skip(UNTESTABLE + reason)


def untestable_everywhere(reason: str) -> NoReturn:
    """The document gives no way to check the clause against any target."""
    pytest.skip(UNTESTABLE_EVERYWHERE + reason)


def require(target: Target, capability: str, what: str) -> None:
    """End the check as untestable when the adapter lacks ``capability``: a check that
    needs it never passes silently without it."""
    if not target.has(capability):
        untestable(f"{what} needs the adapter's {capability!r} capability, which "
                   f"{target.adapter.name} lacks")  # fmt: skip


def describe(exc: BaseException) -> str:
    """An exception in one line, with its status_code when it has one."""
    status = getattr(exc, "status_code", None)
    suffix = f" [status_code={status!r}]" if status is not None else ""
    text = str(exc).replace("\n", " ")
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}{suffix}"


class Checker:
    """The checking part of a scenario: performs calls through the transcript and turns what
    they do into a verdict on ``clause`` (a ConformanceFailure) or into a PreconditionError
    when a call the check only needs fails.

    ``clause`` may be reassigned (the lifecycle machine checks a different clause per step).
    """

    def __init__(self, t: Transcript, module: ModuleType, clause: Clause | None = None) -> None:
        self.t = t
        self.m = module
        self.clause = clause

    def exception_types(self, names: Sequence[str]) -> tuple[type[BaseException], ...]:
        """The exception classes named (LLMException is the target's, the rest are builtins)."""
        return tuple(
            self.m.LLMException if n == "LLMException" else getattr(builtins, n) for n in names
        )

    def setup(self, obj: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        """A call the check needs to succeed; its failure is a PreconditionError (outcome error)."""
        try:
            return self.t.call(obj, method, *args, **kwargs)
        except Exception as exc:
            call = f"{self.t.render(obj)}.{method}({self.t.render_args(args, kwargs)})"
            raise PreconditionError(call, describe(exc), self.t.source()) from exc

    def expect_ok(self, obj: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        """A call the clause says succeeds."""
        call = f"{self.t.render(obj)}.{method}({self.t.render_args(args, kwargs)})"
        try:
            return self.t.call(obj, method, *args, **kwargs)
        except PeerError:
            raise  # the helper process failed, not the target: an error, never a fail
        except Exception as exc:
            self.fail(call=call, expected="the call succeeds", observed=f"raised {describe(exc)}")

    def expect_raises(
        self, exceptions: Sequence[str], obj: Any, method: str, *args: Any, **kwargs: Any
    ) -> BaseException:
        """A call the clause says raises one of ``exceptions`` (names; LLMException is the target's)."""
        call = f"{self.t.render(obj)}.{method}({self.t.render_args(args, kwargs)})"
        return self.expect_raises_from(
            exceptions, call, lambda: self.t.call(obj, method, *args, **kwargs)
        )

    def expect_raises_from(
        self, exceptions: Sequence[str], call: str, action: Any
    ) -> BaseException:
        """``action()``, described as ``call``, must raise one of ``exceptions``."""
        wanted = " or ".join(exceptions)
        try:
            result = action()
        except self.exception_types(exceptions) as exc:
            return exc
        except PeerError:
            raise
        except Exception as exc:
            self.fail(call=call, expected=f"raises {wanted}", observed=f"raised {describe(exc)}")
        self.fail(
            call=call,
            expected=f"raises {wanted}",
            observed=f"returned {self.t.render(result)} (no exception)",
        )

    def expect_set(self, obj: Any, attribute: str, value: Any) -> None:
        """An assignment the clause says is accepted."""
        call = f"{self.t.render(obj)}.{attribute} = {self.t.render(value)}"
        try:
            self.t.set(obj, attribute, value)
        except Exception as exc:
            self.fail(
                call=call, expected="the assignment is accepted", observed=f"raised {describe(exc)}"
            )

    def expect_set_raises(
        self, exceptions: Sequence[str], obj: Any, attribute: str, value: Any
    ) -> BaseException:
        """An assignment the clause says is rejected with one of ``exceptions``."""
        call = f"{self.t.render(obj)}.{attribute} = {self.t.render(value)}"
        return self.expect_raises_from(exceptions, call, lambda: self.t.set(obj, attribute, value))

    def check(self, ok: bool, *, expected: str, observed: str, call: str = "") -> None:
        """Fail the clause unless ``ok``."""
        if not ok:
            self.fail(call=call, expected=expected, observed=observed)

    def fail(self, *, call: str, expected: str, observed: str) -> NoReturn:
        """The target violates the clause under check."""
        clause_id = self.clause.id if self.clause else "?"
        text = self.clause.text.en if self.clause else ""
        raise ConformanceFailure(
            clause_id, text, call or "(see replay)", expected, observed, self.t.source()
        )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())
