"""Checks that a call which failed changed nothing, and that a pool is whole again.

"A call that fails changes nothing" is observed through the adapter and the API
alone: the bytes of every live cache are as before, keys the failed call named
are still free to bind (or still bound, if they were), and once the test has
released what it holds, the pool holds what it held: its whole size can be
allocated at once, and one page more cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .checks import untestable
from .harness import Cache, Engine, Layout, PoolSpec, Scenario, describe
from .refusals import expect_refused
from .replaycheck import first_overlap

__all__ = [
    "bytes_checked_or_untestable",
    "carried_out",
    "expect_bytes_unchanged",
    "expect_changed_only",
    "expect_keys_bound",
    "expect_keys_free",
    "expect_no_overlap",
    "expect_pool_whole",
    "fill_all",
    "snapshot",
    "usable_bytes",
]


def snapshot(s: Scenario, caches: Sequence[Cache]) -> list[list[bytes]]:
    """The bytes of every tensor of ``caches`` (empty without the adapter's bytes capability)."""
    if not s.ctx.target.has("bytes"):
        return []
    return [s.caches.read(cache) for cache in caches]


def fill_all(s: Scenario, caches: Sequence[Cache], seed: int) -> list[list[bytes]]:
    """Give every tensor of ``caches`` a distinct pattern; their bytes (empty without ``bytes``)."""
    if not s.ctx.target.has("bytes"):
        return []
    return [
        [bytes(t) for t in s.caches.fill(cache, seed + number)]
        for number, cache in enumerate(caches)
    ]


def bytes_checked_or_untestable(s: Scenario, what: str) -> None:
    """End a check whose "no byte changed" half needs ``bytes`` as untestable without it.

    Called after everything else the check can see without bytes, so a target that fails
    those parts still fails; one that passes them is not counted as passing the whole clause.
    """
    if not s.ctx.target.has("bytes"):
        untestable(
            f"{what}: that no byte of the caches changed needs the adapter's 'bytes' "
            f"capability, which {s.adapter.name} lacks"
        )


def expect_bytes_unchanged(
    s: Scenario, caches: Sequence[Cache], before: list[list[bytes]], after_call: str
) -> None:
    if not before:
        return
    for number, (cache, old) in enumerate(zip(caches, before, strict=True)):
        new = s.caches.read(cache)
        changed = [t for t, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        s.checker.check(
            not changed,
            call=after_call,
            expected="the failed call changed no byte of any live cache",
            observed=f"tensors {changed} of live cache #{number} changed",
            replay=s.caches.bytes_condition(cache, old),
        )


def carried_out(
    s: Scenario, exceptions: Sequence[str], call: str, obj: Any, method: str, *args: Any
) -> bool:
    """Make a call the document lets succeed or fail with one of ``exceptions``: whether it
    succeeded (the replay names that ``carried_out``); any other exception fails the clause."""
    expected = f"carried out, or rejected with {' or '.join(exceptions)}"
    done = True
    try:
        s.t.call(obj, method, *args)
    except s.checker.exception_types(exceptions):
        done = False
    except Exception as exc:
        s.checker.replay_outcome(exceptions, call, expected, prefix="raised ")
        s.checker.fail(
            call=call, expected=expected, observed=f"raised {describe(exc)}", replayed=True
        )
    s.checker.replay_outcome(exceptions, call, expected, prefix="raised ", named="carried_out")
    return done


def expect_changed_only(
    s: Scenario,
    caches: Sequence[Cache],
    before: list[list[bytes]],
    spans: Sequence[tuple[int, int]],
    call: str,
    done: bool,
) -> None:
    """After a call :func:`carried_out` made: no byte of ``caches`` changed outside the span
    ``spans[n]`` of each tensor of cache n when it was carried out, and none at all when
    it was rejected (nothing to check without ``bytes``)."""
    if not before:
        return
    for number, (cache, old, span) in enumerate(zip(caches, before, spans, strict=True)):
        skip = span if done else (0, 0)
        now = _outside(s.caches.read(cache), skip)
        changed = [
            t for t, (a, b) in enumerate(zip(_outside(old, skip), now, strict=True)) if a != b
        ]
        where = f" outside bytes [{span[0]}, {span[1]}) of a tensor" if span[1] > span[0] else ""
        s.checker.check(
            not changed,
            call=call,
            expected=f"no byte of cache #{number} changed{where} when carried out, none "
            "when rejected",
            observed=f"{'carried out' if done else 'rejected'}, and tensors {changed} of "
            f"cache #{number} changed",
            replay=f"({s.caches.bytes_condition(cache, _outside(old, span), skip=span)}) "
            f"if carried_out else ({s.caches.bytes_condition(cache, old)})",
        )


def _outside(tensors: Sequence[bytes], span: tuple[int, int]) -> list[bytes]:
    """The bytes of each of ``tensors`` outside ``span``."""
    return [bytes(tensor[: span[0]] + tensor[span[1] :]) for tensor in tensors]


def _one_key_cache(s: Scenario, engine: Engine, keys: Sequence[Any]) -> Any:
    layout = Layout(1, (max(len(keys), 1), 1), 1)
    return s.t.call(engine.cache_manager, "allocate_cache", s.desc(layout), list(keys))


def expect_keys_free(s: Scenario, engine: Engine, keys: Sequence[Any], after_call: str) -> None:
    """Each of ``keys`` can be bound by a new cache (which is released again)."""
    for key in dict.fromkeys(keys):
        try:
            cache = _one_key_cache(s, engine, [key])
        except Exception as exc:
            s.checker.fail_call(
                f"allocate_cache(desc, [{s.t.render(key)}]) after {after_call}",
                exc,
                "the key is free to bind: the failed call bound nothing",
            )
        s.checker.setup(engine.cache_manager, "remove_cache_key", key)
        s.checker.setup(engine.cache_manager, "deallocate_cache", cache)


def expect_keys_bound(s: Scenario, engine: Engine, keys: Sequence[Any], after_call: str) -> None:
    """Each of ``keys`` is still bound: binding it again raises LLMException."""
    for key in dict.fromkeys(keys):
        s.checker.expect_raises_from(
            ["LLMException"],
            f"allocate_cache(desc, [{s.t.render(key)}]) after {after_call} (the key is still bound)",
            lambda key=key: _one_key_cache(s, engine, [key]),
        )


def usable_bytes(pool: PoolSpec) -> tuple[int, int]:
    """(bytes that fit under every reading, bytes that fit under none) for one one-tensor cache.

    Every reading agrees that the pool's whole pages fit at once; none lets a
    cache reach past memory_size.
    """
    page = pool.page_size
    whole = pool.memory_size // page * page
    over = pool.memory_size + 1 if pool.memory_size % page == 0 else whole + page
    return whole, over


def expect_pool_whole(
    s: Scenario, engine: Engine, pool: PoolSpec, after: str, placement: str = "DEVICE"
) -> None:
    """The pool, with nothing of the test's still live, holds all its whole pages and no more."""
    whole, over = usable_bytes(pool)
    cm = engine.cache_manager
    call = f"allocate_cache(one cache of {whole} bytes: every whole page of the pool) after {after}"
    try:
        cache = s.t.call(
            cm, "allocate_cache", s.desc(Layout(1, (1, whole), 1), placement=placement)
        )
    except Exception as exc:
        s.checker.fail_call(
            call,
            exc,
            "it fits: every page is usable again",
            " (pages were lost or are still held)",
        )
    s.checker.setup(cm, "deallocate_cache", cache)
    too_big = s.desc(Layout(1, (1, over), 1), placement=placement)
    # A cache larger than the whole pool may also be rejected as a bad argument.
    expect_refused(
        s,
        cm,
        f"allocate_cache(one cache of {over} bytes in a pool of memory_size {pool.memory_size})",
        too_big,
        also=("ValueError",),
    )


def expect_no_overlap(
    s: Scenario, caches: Sequence[Cache], call: str, listed: tuple[int, str] | None = None
) -> None:
    """No two tensors of live caches share a byte. ``listed`` = (n, name): ``caches[n:]`` are
    the snippet's list ``name``, filled by a loop that may fit more or fewer caches in the
    target the replay runs against (all of the layout of ``caches[n]``)."""
    tensors = [(list(cache.raw.tensor_addrs), cache.layout.tensor_bytes) for cache in caches]
    found = first_overlap(tensors)
    if found is None:
        return
    (start, end, first), (next_start, _, second) = found
    named = caches if listed is None else caches[: listed[0]]
    spans = (
        "["
        + ", ".join(
            f"(list({s.t.render(cache.raw)}.tensor_addrs), {cache.layout.tensor_bytes})"
            for cache in named
        )
        + "]"
    )
    if listed is not None and len(caches) > listed[0]:
        size = caches[listed[0]].layout.tensor_bytes
        spans += f" + [(list(cache.tensor_addrs), {size}) for cache in {listed[1]}]"
    s.checker.fail(
        call=call,
        expected="the tensors of live caches do not overlap",
        observed=f"a tensor of cache #{second} starts at {hex(next_start)}, inside one of "
        f"cache #{first} [{hex(start)}, {hex(end)})",
        replay=f"replay.first_overlap({spans}) is None",
    )
