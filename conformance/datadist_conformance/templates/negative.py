"""Negative inputs: wrong types, None, mismatches, out-of-range values and indices, bad key lists."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from ..harness import Cache, Layout, PoolSpec, Scenario
from ..integrity import (
    expect_bytes_unchanged,
    expect_keys_bound,
    expect_keys_free,
    expect_pool_whole,
    snapshot,
)
from ..keyplans import realize
from ..recipes import recipe_for
from ..speclib import Clause
from ..strategies import boundary_first, key_plans, wrong_values
from . import template

_req_ids = itertools.count(10_000)


@template("raises_on_wrong_type", family="negative")
def raises_on_wrong_type(s: Scenario, clause: Clause, data: Any) -> None:
    api = s.ctx.spec.api(clause.api_id)
    assert api.signature is not None
    exceptions = list(clause.params["exceptions"])
    # None on a parameter that is not Optional: the clause may accept more (E-none-argument).
    on_none = list(clause.params.get("on_none", exceptions))
    for param in api.signature.params:
        for _label, value in wrong_values(
            s, param, none_excluded=bool(clause.params.get("none_excluded"))
        ):
            call = recipe_for(api.id)(s)
            args = {**call.args, param.name: value}
            call.expect_raises(s, on_none if value is None else exceptions, args)


@template("raises_on_none", family="negative")
def raises_on_none(s: Scenario, clause: Clause, data: Any) -> None:
    api = s.ctx.spec.api(clause.api_id)
    assert api.signature is not None
    for param in api.signature.params:
        call = recipe_for(api.id)(s)
        call.expect_raises(s, list(clause.params["exceptions"]), {**call.args, param.name: None})


def _unchanged(s: Scenario, cache: Cache, before: list[bytes] | list[bytearray], call: str) -> None:
    """The "nothing is written" half of bounds_checked (its kind requires ``bytes``)."""
    after = s.caches.read(cache)
    changed = [
        t for t, (old, new) in enumerate(zip(before, after, strict=True)) if bytes(old) != new
    ]
    s.checker.check(
        not changed,
        call=call,
        expected="nothing is written",
        observed=f"tensors {changed} of the destination changed",
    )


@template("raises_on_mismatch", family="negative")
def raises_on_mismatch(s: Scenario, clause: Clause, data: Any) -> None:
    engine = s.engines.shared()
    exceptions = list(clause.params["exceptions"])
    base = Layout(1, (4, 32), 1)
    mismatched = {
        "num_tensors": Layout(2, (4, 32), 1),
        "block_size": Layout(1, (4, 64), 1),
    }
    for difference in clause.params["differ"]:
        other = mismatched[difference]
        for device_layout, host_layout in ((base, other), (other, base)):
            device = s.caches.allocate_blocks(engine, device_layout)
            host = s.caches.cpu_cache(host_layout)
            s.t.comment(f"{difference} differs between the caches")
            s.checker.expect_raises(
                exceptions, engine.cache_manager, "swap_blocks", host.raw, device.raw, {0: 1}
            )
            s.checker.expect_raises(
                exceptions, engine.cache_manager, "swap_blocks", device.raw, host.raw, {0: 1}
            )


@template("desc_must_match", family="negative")
def desc_must_match(s: Scenario, clause: Clause, data: Any) -> None:
    engine = s.engines.shared()
    exceptions = list(clause.params["exceptions"])
    for dst_layout, src_layout in (
        (Layout(2, (2, 16), 1), Layout(1, (2, 16), 1)),
        (Layout(1, (2, 16), 1), Layout(3, (2, 16), 1)),
    ):
        dst, src = s.caches.allocate(engine, dst_layout), s.caches.allocate(engine, src_layout)
        s.t.comment("num_tensors differs between dst and src")
        s.checker.expect_raises(exceptions, engine.cache_manager, "copy_cache", dst.raw, src.raw)


@template("value_range", family="negative")
def value_range(s: Scenario, clause: Clause, data: Any) -> None:
    name = clause.params["param"]
    allowed = set(clause.params.get("allowed_constants", ()))
    minimum = clause.params.get("minimum")
    probe = recipe_for(clause.api_id)(s)
    baseline = probe.args[name]
    invalid = [
        v for v in (0, -2, -1000, minimum - 1 if minimum is not None else None) if v is not None
    ]
    invalid = [
        v for v in dict.fromkeys(invalid) if v not in allowed and (minimum is None or v < minimum)
    ]
    for value in invalid:
        call = recipe_for(clause.api_id)(s)
        call.expect_raises(s, list(clause.params["exceptions"]), {**call.args, name: value})
    valid = sorted(allowed | ({minimum} if minimum is not None else set()) | {baseline})
    for value in valid:
        call = recipe_for(clause.api_id)(s)
        call.expect_ok(s, {**call.args, name: value})


@template("bounds_checked", family="negative")
def bounds_checked(s: Scenario, clause: Clause, data: Any) -> None:
    api_name = s.ctx.spec.api(clause.api_id).name
    exceptions = list(clause.params["exceptions"])
    engine = s.engines.shared()
    cm = engine.cache_manager
    if api_name == "copy_cache":
        batched = Layout(1, (2, 16), 1)
        single = Layout(1, (1, 64), 1)
        cases: list[tuple[Layout, tuple[Any, ...]]] = [
            (batched, (2, 0, 0, -1)),  # dst_batch_index, src_batch_index, offset, size
            (batched, (0, 2, 0, -1)),
            (batched, (-1, 0, 0, -1)),
            (single, (0, 0, 64, 1)),
            (single, (0, 0, 60, 8)),
            (single, (0, 0, 0, 65)),
            (single, (0, 0, 1 << 40, 1)),
        ]
        for layout, args in cases:
            dst, src = s.caches.allocate(engine, layout), s.caches.allocate(engine, layout)
            before = s.caches.fill(dst, 1)
            s.caches.fill(src, 2)
            s.checker.expect_raises(exceptions, cm, "copy_cache", dst.raw, src.raw, *args)
            _unchanged(s, dst, before, f"copy_cache(dst, src, *{args})")
    elif api_name == "copy_blocks":
        layout = Layout(1, (4, 32), 1)
        # The last maps put valid entries before the bad one: validation is all or nothing.
        for copy_map in (
            {4: [0]},
            {0: [4]},
            {-1: [0]},
            {0: [-1]},
            {0: [1, 9]},
            {0: [1], 2: [4]},
            {1: [2], 3: [0, 2], 4: [1]},
        ):
            cache = s.caches.allocate_blocks(engine, layout)
            before = s.caches.fill(cache, 3)
            s.checker.expect_raises(exceptions, cm, "copy_blocks", cache.raw, copy_map)
            _unchanged(s, cache, before, f"copy_blocks(cache, {copy_map})")
    elif api_name == "swap_blocks":
        layout = Layout(1, (4, 32), 1)
        for mapping in ({4: 0}, {0: 4}, {-1: 0}, {0: -1}, {0: 1, 2: 4}, {1: 0, 3: 2, 4: 1}):
            device, host = s.caches.allocate_blocks(engine, layout), s.caches.cpu_cache(layout)
            device_before, host_before = s.caches.fill(device, 4), s.caches.fill(host, 5)
            s.checker.expect_raises(exceptions, cm, "swap_blocks", host.raw, device.raw, mapping)
            _unchanged(s, device, device_before, f"swap_blocks(host, device, {mapping})")
            s.checker.expect_raises(exceptions, cm, "swap_blocks", device.raw, host.raw, mapping)
            _unchanged(s, host, host_before, f"swap_blocks(device, host, {mapping})")
    else:
        raise AssertionError(f"bounds_checked has no case for {clause.api_id}")


KEY_POOL = PoolSpec(16 << 12, 12)  #: the pool of the key-list checks, whole again at the end


@template("key_count_within_batch", family="negative", uses_hypothesis=True)
def key_count_within_batch(s: Scenario, clause: Clause, data: Any) -> None:
    """More keys than the batch size (placeholders and repeats count) raise and change nothing;
    exactly the batch size is accepted."""
    batch = data.draw(boundary_first([1, 4], st.integers(1, 4)), label="batch size")
    engine = s.engines.start(device_pool=KEY_POOL)
    cm, layout = engine.cache_manager, Layout(1, (batch, 8), 1)
    over = data.draw(
        key_plans(batch=batch, lengths=(batch + 1, batch + 3), placeholders=True, duplicates=True),
        label="too many keys",
    )
    keys = realize(s, over, engine.cluster_id)
    s.t.comment(over.describe())
    s.checker.expect_raises(
        list(clause.params["exceptions"]), cm, "allocate_cache", s.desc(layout), keys.keys
    )
    expect_keys_free(s, engine, list(keys.fresh.values()), "the rejected allocate_cache")
    expect_pool_whole(s, engine, KEY_POOL, "the rejected allocate_cache")
    exact = data.draw(
        key_plans(batch=batch, lengths=(batch, batch), placeholders=True), label="exactly enough"
    )
    s.t.comment(exact.describe())
    s.checker.expect_ok(
        cm, "allocate_cache", s.desc(layout), realize(s, exact, engine.cluster_id).keys
    )


@template("key_already_bound", family="negative", uses_hypothesis=True)
def key_already_bound(s: Scenario, clause: Clause, data: Any) -> None:
    """A key list naming a key bound to a live cache (anywhere, repeated or not, among fresh keys
    and placeholders) raises and changes nothing."""
    batch = data.draw(boundary_first([1, 4], st.integers(1, 4)), label="batch size")
    plan = data.draw(
        key_plans(
            batch=batch,
            lengths=(1, batch),
            placeholders=True,
            duplicates=True,
            bound=True,
            require=frozenset({"bound"}),
        ),
        label="cache_keys",
    )
    engine = s.engines.start(device_pool=KEY_POOL)
    cm = engine.cache_manager
    bound = s.key(engine.cluster_id, next(_req_ids))
    holder = s.caches.allocate(engine, Layout(1, (1, 8), 1), [bound])
    before = snapshot(s, [holder])
    if before:
        s.caches.fill(holder, 7)
        before = snapshot(s, [holder])
    keys = realize(s, plan, engine.cluster_id, bound)
    s.t.comment(f"the key BOUND is bound to a live cache; {plan.describe()}")
    s.checker.expect_raises(
        list(clause.params["exceptions"]),
        cm,
        "allocate_cache",
        s.desc(Layout(1, (batch, 8), 1)),
        keys.keys,
    )
    after = "the rejected allocate_cache"
    expect_bytes_unchanged(s, [holder], before, after)
    expect_keys_free(s, engine, list(keys.fresh.values()), after)
    expect_keys_bound(s, engine, [bound], after)
    s.checker.setup(cm, "deallocate_cache", holder.raw)
    s.checker.setup(cm, "remove_cache_key", bound)
    expect_pool_whole(s, engine, KEY_POOL, f"{after} and releasing the live cache")
