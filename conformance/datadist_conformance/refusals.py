"""Allocations that the pool may refuse: only the documented refusal means "it does not fit".

Templates often ask "does one more cache fit?". Reading any exception as "no" would turn a
target's crash-like error (a TypeError, a RuntimeError from a bug) into a pass. Only the
exception that allocate_cache.pool.capacity documents is a refusal; anything else fails that
clause, with the call and the exception in the report.
"""

from __future__ import annotations

from typing import Any

from .checks import ConformanceFailure
from .harness import Scenario, describe

__all__ = ["REFUSAL_CLAUSE", "allocate_or_refused", "expect_refused"]

#: The clause that says how an allocation the pool cannot hold fails.
REFUSAL_CLAUSE = "allocate_cache.pool.capacity"


def allocate_or_refused(
    s: Scenario, cache_manager: Any, method: str, *args: Any, also: tuple[str, ...] = ()
) -> Any | None:
    """The new cache, or None when the target refuses it with the documented exception
    (or one of ``also``, where the template's clause allows more)."""
    clause = s.ctx.spec.clause(REFUSAL_CLAUSE)
    exceptions = [*clause.params["exceptions"], *also]
    try:
        return s.t.call(cache_manager, method, *args)
    except s.checker.exception_types(exceptions):
        return None
    except Exception as exc:
        call = f"{method}({', '.join(s.t.render(a) for a in args)})"
        expected = f"the cache, or {' or '.join(exceptions)} when the pool cannot hold it"
        s.checker.replay_outcome(exceptions, call, expected, clause=clause)
        raise ConformanceFailure(
            clause.id, clause.text.en, call, expected, describe(exc), s.t.source()
        ) from exc


def expect_refused(
    s: Scenario, cache_manager: Any, call: str, *args: Any, also: tuple[str, ...] = ()
) -> None:
    """allocate_cache(*args) must be refused: a cache that fits fails the running clause."""
    cache = allocate_or_refused(s, cache_manager, "allocate_cache", *args, also=also)
    if cache is not None:
        refusals = (*s.ctx.spec.clause(REFUSAL_CLAUSE).params["exceptions"], *also)
        s.t.replace_last(  # the replay asks the target it runs against
            f"fits = replay.fits(m, {refusals!r}, lambda: {s.t.last_call[1]}, lambda cache: None)"
        )
        s.checker.fail(
            call=call,
            expected="it is refused: the pool cannot hold it",
            observed="it fit",
            replay="not fits",
        )
