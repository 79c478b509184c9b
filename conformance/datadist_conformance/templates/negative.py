"""Negative inputs: wrong types, None, mismatches, out-of-range values and indices, bad key lists."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import strategies as st

from ..harness import Layout, PoolSpec, Scenario
from ..integrity import (
    bytes_checked_or_untestable,
    expect_bytes_unchanged,
    expect_keys_bound,
    expect_keys_free,
    expect_pool_whole,
    fill_all,
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
    holder_key = s.key(engine.cluster_id, next(_req_ids))
    holder = s.caches.allocate(engine, Layout(1, (1, 8), 1), [holder_key])
    before = fill_all(s, [holder], 7)
    s.t.comment(f"{over.describe()}; a live cache (#0) holds a key of its own")
    s.checker.expect_raises(
        list(clause.params["exceptions"]), cm, "allocate_cache", s.desc(layout), keys.keys
    )
    after = "the rejected allocate_cache"
    expect_bytes_unchanged(s, [holder], before, after)
    expect_keys_free(s, engine, list(keys.fresh.values()), after)
    expect_keys_bound(s, engine, [holder_key], after)
    s.checker.setup(cm, "deallocate_cache", holder.raw)
    s.checker.setup(cm, "remove_cache_key", holder_key)
    expect_pool_whole(s, engine, KEY_POOL, f"{after} and releasing the live cache")
    exact = data.draw(
        key_plans(batch=batch, lengths=(batch, batch), placeholders=True), label="exactly enough"
    )
    s.t.comment(exact.describe())
    s.checker.expect_ok(
        cm, "allocate_cache", s.desc(layout), realize(s, exact, engine.cluster_id).keys
    )
    bytes_checked_or_untestable(s, after)


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
    before = fill_all(s, [holder], 7)
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
    bytes_checked_or_untestable(s, after)
