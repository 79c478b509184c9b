"""The checks a replay snippet ends with (re-exported by :mod:`.replay`).

A replay repeats the calls of the failing example and then checks what it observes the way the
suite did: a check that does not hold raises :class:`AssertionError` with the report's message
(clause, call, expected, observed); against a target that behaves, it raises nothing. Calls that
raised in the recorded run and were caught by the check run inside :func:`raised`, so that the
snippet goes on past them.
"""

from __future__ import annotations

import builtins
import hashlib
import itertools
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .checks import describe, failure_message
from .signatures import defaults_to, has_var_keyword, parameters_match, required
from .speclib import parse
from .typecheck import admits as _admits

__all__ = [
    "accepted",
    "admits",
    "allocate_until_failure",
    "allocate_until_refused",
    "check",
    "defaults_to",
    "digest",
    "expect_ok",
    "expect_ok_or_raises",
    "expect_raises",
    "first_overlap",
    "fits",
    "has_var_keyword",
    "not_replayable",
    "parameters_match",
    "raised",
    "required",
    "tensors",
    "unreproducible",
]


@contextmanager
def raised(*names: str) -> Iterator[None]:
    """A call that raised ``names`` in the recorded run and was caught there. If it raises
    nothing now, the replay has diverged from the run: say so on stderr and go on (the final
    check decides); an exception of another type propagates."""
    try:
        yield
    except Exception as exc:
        if not any(cls.__name__ in names for cls in type(exc).__mro__):  # or a subclass
            raise
        return
    print(f"replay: the recorded run raised {' or '.join(names)} here; this one did not",
          file=sys.stderr)  # fmt: skip


def check(ok: bool, *, clause: str, text: str, call: str, expected: str, observed: str) -> None:
    """The failed check, recomputed: ``ok`` is evaluated from what this replay observed."""
    if not ok:
        raise AssertionError(failure_message(clause, text, call, expected, observed))


def expect_ok(
    action: Callable[[], Any],
    *,
    clause: str,
    text: str,
    call: str,
    expected: str = "the call succeeds",
    suffix: str = "",
) -> Any:
    """A call the clause says succeeds (the report says ``suffix`` after the exception)."""
    try:
        return action()
    except Exception as exc:
        observed = f"raised {describe(exc)}{suffix}"
        raise AssertionError(failure_message(clause, text, call, expected, observed)) from exc


def expect_raises(
    m: Any,
    names: Sequence[str],
    action: Callable[[], Any],
    *,
    clause: str,
    text: str,
    call: str,
    returned: str = "",
) -> None:
    """A call the clause says raises one of ``names`` (LLMException is the target's ``m``'s).
    ``returned`` is how the report showed a returned value (a name of the snippet)."""
    wanted = tuple(m.LLMException if n == "LLMException" else getattr(builtins, n) for n in names)
    expected = f"raises {' or '.join(names)}"
    try:
        result = action()
    except wanted:
        return
    except Exception as exc:
        message = failure_message(clause, text, call, expected, f"raised {describe(exc)}")
        raise AssertionError(message) from exc
    shown = returned or repr(result)
    raise AssertionError(
        failure_message(clause, text, call, expected, f"returned {shown} (no exception)")
    )


def expect_ok_or_raises(
    m: Any,
    names: Sequence[str],
    action: Callable[[], Any],
    *,
    clause: str,
    text: str,
    call: str,
    expected: str,
    prefix: str = "",
) -> Any:
    """A call that may succeed or raise one of ``names``; anything else fails the clause (the
    report shows ``prefix`` and the exception as observed)."""
    wanted = tuple(m.LLMException if n == "LLMException" else getattr(builtins, n) for n in names)
    try:
        return action()
    except wanted:
        return None
    except Exception as exc:
        message = failure_message(clause, text, call, expected, prefix + describe(exc))
        raise AssertionError(message) from exc


def accepted(m: Any, names: Sequence[str], action: Callable[[], Any], **fields: str) -> bool:
    """As :func:`expect_ok_or_raises`; whether the call succeeded (the replay then takes the
    branch the suite took after a success)."""
    done = []
    expect_ok_or_raises(m, names, lambda: done.append(action()), **fields)
    return bool(done)


def allocate_until_refused(
    m: Any, names: Sequence[str], allocate: Callable[[], Any], most: int
) -> list[Any]:
    """Caches from ``allocate()`` until the pool refuses one with ``names``, at most ``most``."""
    caches = []
    for _ in range(most):
        cache = expect_ok_or_raises(
            m, names, allocate, clause="?", text="", call="allocate", expected="a refusal"
        )
        if cache is None:
            break
        caches.append(cache)
    return caches


def allocate_until_failure(
    allocate: Callable[[], Any], most: int
) -> tuple[list[Any], Exception | None]:
    """Caches from ``allocate()`` until it raises, at most ``most``; and what it raised."""
    caches = []
    for _ in range(most):
        try:
            caches.append(allocate())
        except Exception as exc:
            return caches, exc
    return caches, None


def admits(value: Any, type_text: str, m: Any) -> bool:
    """Whether ``value`` has a type the spec's ``type_text`` allows (as the suite judges)."""
    return _admits(value, parse(type_text), m) is True


def fits(
    m: Any, names: Sequence[str], allocate: Callable[[], Any], release: Callable[[Any], Any]
) -> bool:
    """Whether one more cache fits (refused with ``names``: no); it is released when it does."""
    caches = allocate_until_refused(m, names, allocate, 1)
    for cache in caches:
        release(cache)
    return bool(caches)


def first_overlap(
    tensors: Sequence[tuple[Sequence[int], int]],
) -> tuple[tuple[int, int, int], tuple[int, int, int]] | None:
    """The first two tensors, in address order, that share a byte, each as (start, end, number
    of its cache); ``tensors`` holds each cache's tensor addresses and tensor size. None when
    no two overlap."""
    spans = sorted(
        (int(address), int(address) + size, number)
        for number, (addresses, size) in enumerate(tensors)
        for address in addresses
    )
    for first, second in itertools.pairwise(spans):
        if second[0] < first[1]:
            return first, second
    return None


def tensors(adapter: Any, cache: Any, tensor_bytes: int, num_tensors: int) -> list[bytes]:
    """The bytes of every tensor of ``cache``, read as the suite reads them."""
    return [bytes(adapter.read(cache, t, 0, tensor_bytes)) for t in range(num_tensors)]


def digest(data: Sequence[bytes]) -> str:
    """A short digest of byte strings too long to print in a snippet."""
    hashed = hashlib.sha256()
    for item in data:
        hashed.update(len(item).to_bytes(8, "little") + bytes(item))
    return hashed.hexdigest()[:32]


def not_replayable(*, clause: str, why: str) -> None:
    """The end of a snippet whose check has no condition written as source yet: it repeats the
    calls, but cannot tell by itself whether the clause held. Raises, but never AssertionError,
    so that nothing mistakes it for a reproduced failure."""
    raise NotImplementedError(
        f"[{clause}] the replay repeats the calls; its check is not replayable: {why}"
    )


def unreproducible(shown: str) -> Any:
    """A value the suite passed that has no source form (shown as its repr)."""
    raise NotImplementedError(f"the recorded run passed a value with no source form: {shown}")
