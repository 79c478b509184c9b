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
    "failure_message",
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
        message = failure_message(clause_id, clause_text, call, expected, observed)
        super().__init__(f"{message}\n  replay:\n{_indent(replay)}")


def failure_message(
    clause_id: str, clause_text: str, call: str, expected: str, observed: str
) -> str:
    """What a failure says, in the report and in the AssertionError its replay raises."""
    return (
        f"[{clause_id}] {clause_text}\n"
        f"  call:     {call}\n"
        f"  expected: {expected}\n"
        f"  observed: {observed}"
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
            self.fail_call(call, exc)

    def fail_call(
        self,
        call: str,
        exc: BaseException,
        expected: str = "the call succeeds",
        suffix: str = "",
    ) -> NoReturn:
        """The last call raised ``exc``, and the clause says it succeeds (the report says
        ``expected``, and ``suffix`` after the exception)."""
        shown = (f", expected={expected!r}" if expected != "the call succeeds" else "") + (
            f", suffix={suffix!r}" if suffix else ""
        )
        self.t.replace_last(
            f"replay.expect_ok(lambda: {self.t.last_call[1]}, {self._fields(call)}{shown})"
        )
        self.fail(call=call, expected=expected, observed=f"raised {describe(exc)}{suffix}",
                  replayed=True)  # fmt: skip

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
        mark = len(self.t.lines)
        try:
            result = action()
        except self.exception_types(exceptions) as exc:
            return exc
        except PeerError:
            raise
        except Exception as exc:
            self._replay_raises(mark, exceptions, call)
            self.fail(call=call, expected=f"raises {wanted}", observed=f"raised {describe(exc)}",
                      replayed=mark <= self.t.last_call[0])  # fmt: skip
        returned = self.t.render(result)
        self._replay_raises(mark, exceptions, call, returned)
        self.fail(
            call=call,
            expected=f"raises {wanted}",
            observed=f"returned {returned} (no exception)",
            replayed=mark <= self.t.last_call[0],
        )

    def _replay_raises(
        self, mark: int, exceptions: Sequence[str], call: str, returned: str = ""
    ) -> None:
        """The last call, made by the replay's expect_raises (when the action recorded one)."""
        if self.t.last_call[0] < mark:
            return
        shown = f", returned={returned!r}" if returned else ""
        self.t.replace_last(
            f"replay.expect_raises(m, {tuple(exceptions)!r}, lambda: {self.t.last_call[1]}, "
            f"{self._fields(call)}{shown})"
        )

    def replay_outcome(
        self,
        exceptions: Sequence[str],
        call: str,
        expected: str,
        prefix: str = "",
        clause: Clause | None = None,
        named: str = "",
    ) -> None:
        """The last call may succeed or raise one of ``exceptions``: the replay makes it so
        checked, failing ``clause`` (default: the running one) with ``prefix`` and the exception
        as observed otherwise; ``named`` gets whether it succeeded."""
        function = "accepted" if named else "expect_ok_or_raises"
        self.t.replace_last(
            f"{named + ' = ' if named else ''}replay.{function}(m, {tuple(exceptions)!r}, "
            f"lambda: {self.t.last_call[1]}, {self._fields(call, clause)}, "
            f"expected={expected!r}, prefix={prefix!r})"
        )

    def _fields(self, call: str, clause: Clause | None = None) -> str:
        """The report's clause, text and call, as keyword arguments of a replay check."""
        clause = clause or self.clause
        clause_id = clause.id if clause else "?"
        text = clause.text.en if clause else ""
        return f"clause={clause_id!r}, text={text!r}, call={(call or '(see replay)')!r}"

    def expect_set(self, obj: Any, attribute: str, value: Any) -> None:
        """An assignment the clause says is accepted."""
        call = f"{self.t.render(obj)}.{attribute} = {self.t.render(value)}"
        try:
            self.t.set(obj, attribute, value)
        except Exception as exc:
            self.fail_call(call, exc, "the assignment is accepted")

    def expect_set_raises(
        self, exceptions: Sequence[str], obj: Any, attribute: str, value: Any
    ) -> BaseException:
        """An assignment the clause says is rejected with one of ``exceptions``."""
        call = f"{self.t.render(obj)}.{attribute} = {self.t.render(value)}"
        return self.expect_raises_from(exceptions, call, lambda: self.t.set(obj, attribute, value))

    def check(self, ok: bool, *, expected: str, observed: str, replay: str, call: str = "") -> None:
        """Fail the clause unless ``ok``; ``replay`` is ``ok`` as Python over the snippet's
        names, which the replay evaluates to tell by itself whether the target still fails
        (required: a replay that cannot tell is no evidence)."""
        if not ok:
            self.fail(call=call, expected=expected, observed=observed, replay=replay)

    def fail(
        self, *, call: str, expected: str, observed: str, replay: str = "", replayed: bool = False
    ) -> NoReturn:
        """The target violates the clause under check. The replay ends with the check: ``replay``
        (a condition), or the call already replaced by its check (``replayed``), or a note that
        it cannot tell."""
        clause_id = self.clause.id if self.clause else "?"
        text = self.clause.text.en if self.clause else ""
        if replay:
            self.t.add(
                f"replay.check({replay}, {self._fields(call)}, "
                f"expected={expected!r}, observed={observed!r})"
            )
        elif not replayed:
            why = "the suite computed it from values the snippet does not name"
            self.t.add(f"replay.not_replayable(clause={clause_id!r}, why={why!r})")
        raise ConformanceFailure(
            clause_id, text, call or "(see replay)", expected, observed, self.t.source()
        )


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.rstrip().splitlines())
