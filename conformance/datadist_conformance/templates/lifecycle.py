"""Lifecycle: references and their release, keys, pools, timeouts.

Memory release is observed through capacity: a pool of four pages holds one
three-page cache but not two, so "the memory came back" means a second
three-page cache now fits. Each check first confirms that the pool does refuse
the second cache; a target whose pool never runs out cannot show a release,
and the check is reported untestable (allocate_cache.pool.capacity fails then).
"""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from ..checks import untestable
from ..harness import Cache, Engine, Layout, PoolSpec, Scenario, describe
from ..integrity import (
    bytes_checked_or_untestable,
    carried_out,
    expect_bytes_unchanged,
    expect_changed_only,
    expect_no_overlap,
    expect_pool_whole,
    fill_all,
)
from ..recipes import recipe_for
from ..refusals import REFUSAL_CLAUSE, allocate_or_refused
from ..speclib import Clause
from ..strategies import boundary_first, layouts, pool_specs, seeds
from . import template

_req_ids = itertools.count(20_000)

PAGE_SHIFT = 12
PAGE = 1 << PAGE_SHIFT
TIGHT_POOL = PoolSpec(4 * PAGE, PAGE_SHIFT)
BIG = Layout(1, (1, 3 * PAGE), 1)  # three pages: one fits the tight pool, two do not


def _fits(s: Scenario, engine: Engine, allocate: str = "allocate_cache") -> bool:
    """Whether one more BIG cache fits; the attempt is released again when it does."""
    s.t.comment("does a second three-page cache fit?")
    desc = s.desc(BIG)
    release = (
        "deallocate_blocks_cache" if allocate == "allocate_blocks_cache" else "deallocate_cache"
    )
    mark = len(s.t.lines)
    cache = allocate_or_refused(s, engine.cache_manager, allocate, desc)
    if cache is not None:
        s.checker.setup(engine.cache_manager, release, cache)
    # in the replay, the question itself, asked of the target it runs against
    refusals = tuple(s.ctx.spec.clause(REFUSAL_CLAUSE).params["exceptions"])
    cm = s.t.render(engine.cache_manager)
    s.t.replace_last(
        f"fits = replay.fits(m, {refusals!r}, lambda: {cm}.{allocate}({s.t.render(desc)}), "
        f"lambda cache: {cm}.{release}(cache))",
        start=mark,
    )
    return cache is not None


def _require_capacity(s: Scenario, engine: Engine, allocate: str = "allocate_cache") -> None:
    if _fits(s, engine, allocate):
        untestable(
            "the pool held two three-page caches in four pages of memory_size, so a release "
            "cannot be observed (see allocate_cache.pool.capacity)"
        )


def _big_keyed_cache(s: Scenario, engine: Engine) -> tuple[Cache, Any]:
    """A three-page cache with one key on a tight-pool engine, once the pool is known to refuse a second."""
    key = s.key(engine.cluster_id, next(_req_ids))
    cache = s.caches.allocate(engine, BIG, [key])
    _require_capacity(s, engine)
    return cache, key


def _expect_released(s: Scenario, engine: Engine, after: str) -> None:
    s.checker.check(
        _fits(s, engine),
        call="allocate_cache(three-page CacheDesc)",
        expected=f"fits: the first cache's memory returned to the pool after {after}",
        observed="the allocation failed: the memory was not released",
        replay="fits",
    )


def _expect_held(s: Scenario, engine: Engine, after: str) -> None:
    s.checker.check(
        not _fits(s, engine),
        call="allocate_cache(three-page CacheDesc)",
        expected=f"does not fit: the cache is still referenced after {after}",
        observed="the allocation succeeded: the memory was released too early",
        replay="not fits",
    )


def _slice_layout(layout: Layout) -> Layout:
    return Layout(layout.num_tensors, (1, *layout.shape[1:]), layout.itemsize)


def pull_into_second_batch(
    s: Scenario, decoder: Engine, key: Any, layout: Layout, dtype: str
) -> list[bytes]:
    """Pull ``key`` into batch index 1 of a two-batch cache on the decoder.

    Returns the pulled batch's bytes per tensor, after checking that batch 0 was
    left alone (a pull writes one batch of the destination and nothing else).
    """
    slice_layout = _slice_layout(layout)
    two = Layout(layout.num_tensors, (2, *layout.shape[1:]), layout.itemsize)
    target = s.caches.allocate(decoder, two, dtype=dtype)
    before = s.caches.fill(target, 99)
    s.checker.expect_ok(decoder.cache_manager, "pull_cache", key, target.raw, 1)
    after = s.caches.read(target)
    span = slice_layout.tensor_bytes
    touched = [t for t in range(two.num_tensors) if after[t][:span] != bytes(before[t][:span])]
    s.checker.check(
        not touched,
        call="pull_cache(key, two-batch cache, batch_index=1)",
        expected="batch index 0 of the destination unchanged",
        observed=f"it changed in tensors {touched}",
        replay=s.caches.bytes_condition(
            Cache(target.raw, slice_layout), [bytes(t[:span]) for t in before]
        ),
    )
    return [tensor[span:] for tensor in after]


def expect_slice(
    s: Scenario, pulled: list[bytes], model: list[bytearray], layout: Layout, index: int, what: str
) -> None:
    size = layout.slice_bytes
    expected = [bytes(tensor[index * size : (index + 1) * size]) for tensor in model]
    wrong = [t for t, (got, want) in enumerate(zip(pulled, expected, strict=True)) if got != want]
    target = s.caches.last_read  # the two-batch destination pull_into_second_batch read
    assert target is not None
    s.checker.check(
        not wrong,
        call=f"pull_cache({what})",
        expected=f"the bytes of batch index {index} in every tensor",
        observed=f"other bytes in tensors {wrong}" + _which_slice(pulled, model, layout),
        replay=s.caches.bytes_condition(target, expected, start=target.layout.slice_bytes),
    )


def _which_slice(pulled: list[bytes], model: list[bytearray], layout: Layout) -> str:
    size = layout.slice_bytes
    for index in range(layout.batch):
        if pulled and pulled[0] == bytes(model[0][index * size : (index + 1) * size]):
            return f" (they are batch index {index}'s)"
    return ""


SPREAD = Layout(1, (3, PAGE), 1)  # three pages over three batch indices


@template("deferred_release", family="lifecycle", uses_hypothesis=True)
def deferred_release(s: Scenario, clause: Clause, data: Any) -> None:
    """A cache with one to three keys is held until its last reference goes, in any order.

    The references are the cache_id (deallocate_cache) and each key, released by
    remove_cache_key or, with a linked DECODER, by a pull (which must still see
    the key's bytes).
    """
    can_pull = s.ctx.target.has("peer") and s.ctx.target.has("bytes")
    count = data.draw(st.integers(1, 3), label="keys")
    engine = s.engines.start(device_pool=TIGHT_POOL)
    decoder = s.engines.decoder_linked_to(engine) if can_pull else None
    keys = [s.key(engine.cluster_id, next(_req_ids)) for _ in range(count)]
    cache = s.caches.allocate(engine, SPREAD, keys)
    model = s.caches.fill(cache, 5) if can_pull else []
    _require_capacity(s, engine)
    releases = [("deallocate_cache", 0)] + [
        (
            "pull_cache"
            if can_pull and data.draw(st.booleans(), label=f"pull key {i}")
            else "remove_cache_key",
            i,
        )
        for i in range(count)
    ]
    order = data.draw(st.permutations(releases), label="order of the releases")
    done: list[str] = []
    for step, (how, index) in enumerate(order):
        if how == "deallocate_cache":
            s.checker.setup(engine.cache_manager, how, cache.raw)
        elif how == "remove_cache_key":
            s.checker.setup(engine.cache_manager, how, keys[index])
        else:
            assert decoder is not None
            pulled = pull_into_second_batch(s, decoder, keys[index], SPREAD, "DT_UINT8")
            expect_slice(s, pulled, model, SPREAD, index, f"key {index}, after {done or 'nothing'}")
        done.append(how if how == "deallocate_cache" else f"{how}(key {index})")
        if step < len(order) - 1:
            _expect_held(s, engine, ", ".join(done))
        else:
            _expect_released(s, engine, ", ".join(done))


@template("releases_reference", family="lifecycle")
def releases_reference(s: Scenario, clause: Clause, data: Any) -> None:
    via = clause.params["via"]
    other = "remove_cache_key" if via == "deallocate_cache" else "deallocate_cache"
    engine = s.engines.start(device_pool=TIGHT_POOL)
    cache, key = _big_keyed_cache(s, engine)
    release = {"deallocate_cache": cache.raw, "remove_cache_key": key}
    s.checker.setup(engine.cache_manager, other, release[other])
    s.checker.expect_ok(engine.cache_manager, via, release[via])
    _expect_released(s, engine, f"{other}, then {via}")


@template("deferred_release_keeps_data", family="lifecycle", uses_hypothesis=True)
def deferred_release_keeps_data(s: Scenario, clause: Clause, data: Any) -> None:
    layout, dtype = data.draw(layouts(itemsize_of=s.ctx.itemsize, max_batch=3), label="layout")
    prompt = s.engines.start()
    decoder = s.engines.decoder_linked_to(prompt)
    keys = [s.key(prompt.cluster_id, next(_req_ids)) for _ in range(layout.batch)]
    cache = s.caches.allocate(prompt, layout, keys, dtype=dtype)
    model = s.caches.fill(cache, data.draw(seeds(), label="seed"))
    s.checker.expect_ok(prompt.cache_manager, "deallocate_cache", cache.raw)
    order = data.draw(st.permutations(range(layout.batch)), label="pull order")
    for index in order:
        pulled = pull_into_second_batch(s, decoder, keys[index], layout, dtype)
        expect_slice(
            s, pulled, model, layout, index, f"key of batch index {index}, after deallocate_cache"
        )
    # And the memory comes back once the last key is pulled.
    tight = s.engines.start(device_pool=TIGHT_POOL)
    tight_decoder = s.engines.decoder_linked_to(tight)
    big, key = _big_keyed_cache(s, tight)
    s.checker.setup(tight.cache_manager, "deallocate_cache", big.raw)
    pull_into_second_batch(s, tight_decoder, key, BIG, "DT_UINT8")
    _expect_released(s, tight, "deallocate_cache and a pull of its only key")


def _rejected_pulls(s: Scenario, decoder: Engine, key: Any, what: str) -> None:
    """Pulls of ``key`` the DECODER must reject, each leaving its destination as it was.

    Each is wrong on its destination's side under every reading: a batch index just past
    the destination (and far past it), a size one byte larger than the slice.
    """
    exceptions = ["TypeError", "ValueError", "LLMException"]
    two = s.caches.allocate(decoder, Layout(1, (2, 3 * PAGE), 1))
    one = s.caches.allocate(decoder, BIG)
    for target, args, why in (
        (two, (2,), "batch_index 2 is past the two-batch destination"),
        (two, (1 << 20,), "batch_index far past the destination"),
        (one, (0, 3 * PAGE + 1), "size is one byte more than the slice"),
    ):
        s.t.comment(f"a rejected pull: {why}")
        before = fill_all(s, [target], 31)
        s.checker.expect_raises(
            exceptions, decoder.cache_manager, "pull_cache", key, target.raw, *args
        )
        expect_bytes_unchanged(s, [target], before, f"the rejected pull_cache ({why}) {what}")
    s.checker.setup(decoder.cache_manager, "deallocate_cache", two.raw)
    s.checker.setup(decoder.cache_manager, "deallocate_cache", one.raw)


WIDE_SLICE = Layout(1, (1, 2 * PAGE), 1)  # one batch of two pages
NARROW_SLICES = Layout(1, (2, PAGE), 1)  # two batches of one page: the same bytes in all


def _pull_into_narrower_slices(s: Scenario, prompt: Engine, exceptions: list[str]) -> None:
    """A whole-slice pull (size -1) of two pages into batch 0 of a cache of one-page slices.

    Readings differ (rejected, or cut to the destination's slice), but under none may the
    pull write past batch 0 of its destination: not into batch 1, not into the cache
    allocated after it (a fresh DECODER, so that cache is the destination's neighbour).
    """
    decoder = s.engines.decoder_linked_to(prompt)
    key = s.key(prompt.cluster_id, next(_req_ids))
    source = s.caches.allocate(prompt, WIDE_SLICE, [key])
    fill_all(s, [source], 13)
    target = s.caches.allocate(decoder, NARROW_SLICES)
    neighbour = s.caches.allocate(decoder, Layout(1, (1, 4 * PAGE), 1))
    before = fill_all(s, [target, neighbour], 43)
    call = "pull_cache(key of a two-page slice, cache of one-page slices, batch_index=0)"
    s.t.comment("a pull into a destination whose slices are smaller than the source's")
    done = carried_out(s, exceptions, call, decoder.cache_manager, "pull_cache", key, target.raw)
    expect_changed_only(s, [target, neighbour], before, [(0, PAGE), (0, 0)], call, done)
    s.checker.setup(prompt.cache_manager, "remove_cache_key", key)
    s.checker.setup(prompt.cache_manager, "deallocate_cache", source.raw)


@template("key_released_by_transfer", family="lifecycle")
def key_released_by_transfer(s: Scenario, clause: Clause, data: Any) -> None:
    """Only a successful pull releases the key: rejected pulls change nothing (not their
    destination, not the key: it is still held, and still pulls the cache's bytes)."""
    prompt = s.engines.start(device_pool=TIGHT_POOL)
    decoder = s.engines.decoder_linked_to(prompt)
    cache, key = _big_keyed_cache(s, prompt)
    model = fill_all(s, [cache], 5)
    s.checker.setup(prompt.cache_manager, "deallocate_cache", cache.raw)
    _rejected_pulls(s, decoder, key, "after deallocate_cache")
    _expect_held(s, prompt, "deallocate_cache and rejected pull_cache calls of the key")
    pulled = pull_into_second_batch(s, decoder, key, BIG, "DT_UINT8")
    if model:
        expect_slice(
            s, pulled, [bytearray(t) for t in model[0]], BIG, 0, "the key, after rejected pulls"
        )
    _expect_released(s, prompt, "deallocate_cache and a successful pull_cache of the key")
    target = s.caches.allocate(decoder, BIG)
    s.t.comment("a second pull of the released key")
    s.checker.expect_raises(
        list(clause.params["exceptions"]), decoder.cache_manager, "pull_cache", key, target.raw, 0
    )
    _pull_into_narrower_slices(s, prompt, list(clause.params["exceptions"]))
    bytes_checked_or_untestable(s, "rejected pull_cache calls")


@template("not_pullable_after_remove", family="lifecycle")
def not_pullable_after_remove(s: Scenario, clause: Clause, data: Any) -> None:
    prompt = s.engines.start()
    decoder = s.engines.decoder_linked_to(prompt)
    layout = Layout(1, (2, 64), 1)
    keys = [s.key(prompt.cluster_id, next(_req_ids)) for _ in range(2)]
    s.caches.allocate(prompt, layout, keys)
    s.checker.setup(prompt.cache_manager, "remove_cache_key", keys[0])
    target = s.caches.allocate(decoder, _slice_layout(layout))
    s.checker.expect_raises(
        list(clause.params["exceptions"]),
        decoder.cache_manager,
        "pull_cache",
        keys[0],
        target.raw,
        0,
    )


@template("releases_memory", family="lifecycle")
def releases_memory(s: Scenario, clause: Clause, data: Any) -> None:
    allocate, release = clause.params["allocate"], clause.params["release"]
    engine = s.engines.start(device_pool=TIGHT_POOL)
    cache = s.checker.setup(engine.cache_manager, allocate, s.desc(BIG))
    _require_capacity(s, engine, allocate)
    s.checker.expect_ok(engine.cache_manager, release, cache)
    s.checker.check(
        _fits(s, engine, allocate),
        call=f"{allocate}(three-page CacheDesc)",
        expected=f"fits: {release} returned the first cache's memory",
        observed="the allocation failed: the memory was not released",
        replay="fits",
    )
    if allocate == "allocate_blocks_cache":
        _blocks_key_free_after_release(s, engine, release)


def _blocks_key_free_after_release(s: Scenario, engine: Engine, release: str) -> None:
    """A released blocks cache holds nothing, its BlocksCacheKey included: a new blocks cache
    under that key returns a Cache (正常情况下返回Cache), as one under a fresh key would."""
    key = s.new("BlocksCacheKey", engine.cluster_id, next(_req_ids))
    layout = Layout(1, (2, 16), 1)
    first = s.caches.allocate_blocks(engine, layout, key)
    s.checker.setup(engine.cache_manager, release, first.raw)
    desc = s.desc(layout)
    call = f"allocate_blocks_cache(desc, {s.t.render(key)}) after {release} of its cache"
    try:
        again = s.t.call(engine.cache_manager, "allocate_blocks_cache", desc, key)
    except Exception as exc:
        s.checker.fail_call(
            call, exc, "returns a Cache: the released cache no longer holds its BlocksCacheKey"
        )
    s.checker.setup(engine.cache_manager, release, again)


@template("noop_when_absent", family="lifecycle")
def noop_when_absent(s: Scenario, clause: Clause, data: Any) -> None:
    name = s.ctx.spec.api(clause.api_id).name
    engine = s.engines.shared()
    cm = engine.cache_manager
    layout = Layout(1, (2, 16), 1)
    if name == "deallocate_cache":
        _deallocate_absent_changes_nothing(s, engine, layout)
        cache = s.caches.allocate(engine, layout)
        s.checker.setup(cm, "deallocate_cache", cache.raw)
        result = s.checker.expect_ok(cm, "deallocate_cache", cache.raw)
    elif name == "deallocate_blocks_cache":
        cache = s.caches.allocate_blocks(engine, layout)
        s.checker.setup(cm, "deallocate_blocks_cache", cache.raw)
        result = s.checker.expect_ok(cm, "deallocate_blocks_cache", cache.raw)
    elif name == "remove_cache_key":
        s.t.comment("a key that was never bound")
        result = s.checker.expect_ok(
            cm, "remove_cache_key", s.key(engine.cluster_id, next(_req_ids))
        )
        _expect_none(s, result, "remove_cache_key(unbound key)")
        key = s.key(engine.cluster_id, next(_req_ids))
        s.caches.allocate(engine, layout, [key])
        s.checker.setup(cm, "remove_cache_key", key)
        result = s.checker.expect_ok(cm, "remove_cache_key", key)
    else:
        raise AssertionError(f"noop_when_absent has no case for {clause.api_id}")
    _expect_none(s, result, f"{name}(already released)")


def _expect_none(s: Scenario, result: Any, call: str) -> None:
    """The last call returned ``result``, and the clause says it returns None."""
    if result is not None:  # the replay names what the call returns, and checks it
        s.t.replace_last(f"returned = {s.t.last_call[1]}")
    s.checker.check(
        result is None, call=call, expected="None", observed=repr(result), replay="returned is None"
    )


def _deallocate_absent_changes_nothing(s: Scenario, engine: Engine, layout: Layout) -> None:
    """deallocate_cache of a cache this CacheManager never allocated (another engine's), and of
    one already released while a new cache may reuse its memory: each returns None and leaves
    the live caches (their addresses and bytes) as they were. With one engine per process (peer
    mode process) there is no other engine here: only the released half is checked."""
    absent: list[tuple[str, Cache]] = []
    live: list[Cache] = []
    if not s.cross_process:
        foreign = s.caches.allocate(s.engines.start(), layout)
        absent.append(("never allocated here", foreign))
        live.append(foreign)
    s.caches.allocate(engine, layout)
    released = s.caches.allocate(engine, layout)
    s.checker.setup(engine.cache_manager, "deallocate_cache", released.raw)
    absent.append(("already released", released))
    live.append(s.caches.allocate(engine, layout))  # it may sit where `released` was
    addresses = [list(cache.raw.tensor_addrs) for cache in live]
    s.t.add(f"addresses = [{', '.join(f'list({s.t.render(c.raw)}.tensor_addrs)' for c in live)}]")
    models = [s.caches.fill(cache, 40 + i) for i, cache in enumerate(live)]
    for what, cache in absent:
        s.t.comment(f"deallocate_cache of a cache {what}")
        result = s.checker.expect_ok(engine.cache_manager, "deallocate_cache", cache.raw)
        if result is not None:
            s.t.replace_last(f"returned = {s.t.last_call[1]}")
        s.checker.check(
            result is None,
            call=f"deallocate_cache(cache {what})",
            expected="None",
            observed=repr(result),
            replay="returned is None",
        )
    for number, (cache, before, model) in enumerate(zip(live, addresses, models, strict=True)):
        kept = s.caches.bytes_condition(cache, model)
        s.checker.check(
            list(cache.raw.tensor_addrs) == before
            and s.caches.read(cache) == [bytes(m) for m in model],
            call="deallocate_cache of an absent cache, then reading the live caches",
            expected="every live cache keeps its tensor_addrs and its bytes",
            observed="a live cache changed",
            replay=f"list({s.t.render(cache.raw)}.tensor_addrs) == addresses[{number}] and {kept}",
        )


@template("requires_pool", family="lifecycle")
def requires_pool(s: Scenario, clause: Clause, data: Any) -> None:
    engine = s.engines.start(device_pool=None, host_pool=None)
    layout = Layout(1, (2, 16), 1)
    for placement in ("DEVICE", "HOST"):
        s.t.comment(f"no memory pool is configured; {placement} placement")
        s.checker.expect_raises(
            list(clause.params["exceptions"]),
            engine.cache_manager,
            clause.params["allocate"],
            s.desc(layout, placement=placement),
        )


def _pool_engine(s: Scenario, placement: str, pool: PoolSpec) -> Engine:
    if placement == "DEVICE":
        return s.engines.start(device_pool=pool)
    return s.engines.start(device_pool=None, host_pool=pool)


def _drawn_layout(data: Any, page: int, label: str) -> Layout:
    tensors = data.draw(st.integers(1, 3), label=f"{label}: tensors")
    size = data.draw(
        boundary_first([page, page + 1, 1, page - 1], st.integers(1, 3 * page)),
        label=f"{label}: bytes per tensor",
    )
    return Layout(tensors, (1, size), 1)


@template("pool_exhaustion", family="lifecycle", uses_hypothesis=True)
def pool_exhaustion(s: Scenario, clause: Clause, data: Any) -> None:
    """Random allocations and frees on either pool, then exhaustion, then everything freed.

    Whatever the allocator, a cache whose bytes exceed what the live caches
    leave of memory_size cannot fit; a failed allocation changes no live cache;
    and once all is freed, in any order, every page is usable again.
    """
    placement = data.draw(st.sampled_from(["DEVICE", "HOST"]), label="placement")
    pool = data.draw(pool_specs(), label="pool")
    engine = _pool_engine(s, placement, pool)
    cm, exceptions = engine.cache_manager, list(clause.params["exceptions"])
    live: list[Cache] = []
    for step in range(data.draw(st.integers(0, 10), label="steps before exhaustion")):
        if live and data.draw(st.booleans(), label=f"step {step}: free a cache"):
            index = data.draw(st.integers(0, len(live) - 1), label=f"step {step}: which")
            s.checker.setup(cm, "deallocate_cache", live.pop(index).raw)
            continue
        layout = _drawn_layout(data, pool.page_size, f"step {step}")
        used = sum(c.layout.tensor_bytes * c.layout.num_tensors for c in live)
        desc = s.desc(layout, placement=placement)
        if layout.tensor_bytes * layout.num_tensors > pool.memory_size - used:
            s.checker.expect_raises(exceptions, cm, "allocate_cache", desc)
            continue
        raw = allocate_or_refused(s, cm, "allocate_cache", desc)
        if raw is not None:  # a refusal is allowed too (fragmentation, rounding)
            live.append(Cache(raw, layout))
    kept = len(live)
    _exhaust(s, engine, pool, placement, live, exceptions)
    order = data.draw(st.permutations(range(len(live))), label="order of the frees")
    for index in order:
        s.checker.setup(cm, "deallocate_cache", live[index].raw)
    # The replay's target may have fitted more one-page caches than this run's: free them too.
    s.t.add(f"for cache in filled[{len(live) - kept}:]:")
    s.t.add(f"    {s.t.render(cm)}.deallocate_cache(cache)")
    expect_pool_whole(s, engine, pool, f"freeing every cache in the order {order}", placement)


def _exhaust(
    s: Scenario,
    engine: Engine,
    pool: PoolSpec,
    placement: str,
    live: list[Cache],
    exceptions: list[str],
) -> None:
    """Allocate one-page caches until the pool refuses one; check the refusal and the live caches."""
    page = Layout(1, (1, pool.page_size), 1)
    models = [s.caches.fill(c, n) for n, c in enumerate(live)]  # the kind requires bytes: "intact"
    cm, most = engine.cache_manager, pool.memory_size // pool.page_size + 1
    mark, failure = len(s.t.lines), None
    for _ in range(most):
        desc = s.desc(page, placement=placement)
        described = s.t.last_call[1]
        try:
            raw = s.t.call(cm, "allocate_cache", desc)
        except Exception as exc:
            failure = exc
            break
        live.append(Cache(raw, page))
    # In the replay, the loop itself: it fills the pool of the target it runs against.
    s.t.replace_last(
        f"filled, failure = replay.allocate_until_failure(lambda: "
        f"{s.t.render(cm)}.allocate_cache({described}), {most})",
        start=mark,
    )
    for number, cache in enumerate(live[len(models) :]):
        s.t.bind(cache.raw, f"filled[{number}]")
    s.checker.check(
        failure is not None,
        call=f"allocate_cache(one-page CacheDesc) until the {placement} pool is full",
        expected=f"an allocation fails: a pool of memory_size {pool.memory_size} is full",
        observed=f"{len(live)} live caches, more bytes than memory_size",
        replay="failure is not None",
    )
    assert failure is not None
    wanted = ", ".join("m.LLMException" if e == "LLMException" else e for e in exceptions)
    s.checker.check(
        isinstance(failure, s.checker.exception_types(exceptions)),
        call="allocate_cache on a full pool",
        expected=" or ".join(exceptions),
        observed=describe(failure),
        replay=f"isinstance(failure, ({wanted},))",
    )
    expect_no_overlap(s, live, "Cache.tensor_addrs of the live caches", (len(models), "filled"))
    for number, model in enumerate(models):
        s.checker.check(
            [bytes(m) for m in model] == s.caches.read(live[number]),
            call="reading a live cache after the failed allocation",
            expected="its bytes are intact",
            observed=f"live cache #{number} changed",
            replay=s.caches.bytes_condition(live[number], model),
        )


@template("timeout", family="lifecycle")
def timeout(s: Scenario, clause: Clause, data: Any) -> None:
    operation = s.ctx.spec.api(clause.api_id).name
    s.engines.shared(sync_kv_timeout=50)
    call = recipe_for(clause.api_id)(s)
    with s.delayed(operation, 300):
        call.expect_raises(s, list(clause.params["exceptions"]))
