"""cache_keys of allocate_cache: placeholders, trailing omission and repeats, drawn together.

Each template draws key lists that exercise its own sentence mixed with the
others' features (the model is keyplans.py), allocates, and pulls every bound
key from a linked DECODER: each must yield the batch index the model says.
Without the peer and bytes capabilities, trailing omission is checked through
the bindings alone (each key is bound: binding it again raises).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..harness import Scenario
from ..integrity import expect_keys_bound
from ..keyplans import realize
from ..speclib import Clause
from ..strategies import key_plans, layouts, seeds
from . import template
from .lifecycle import expect_slice, pull_into_second_batch


def _check_plan(
    s: Scenario,
    data: Any,
    *,
    lengths: Callable[[int], tuple[int, int]],
    duplicates: bool,
    require: frozenset[str],
) -> None:
    layout, dtype = data.draw(
        layouts(itemsize_of=s.ctx.itemsize, min_batch=2, max_batch=4), label="layout"
    )
    plan = data.draw(
        key_plans(
            batch=layout.batch,
            lengths=lengths(layout.batch),
            placeholders=True,
            duplicates=duplicates,
            require=require,
        ),
        label="cache_keys",
    )
    prompt = s.engines.start()
    keys = realize(s, plan, prompt.cluster_id)
    s.t.comment(plan.describe())
    cache = s.caches.allocate(prompt, layout, keys.keys, dtype=dtype, checked=True)
    if not (s.ctx.target.has("peer") and s.ctx.target.has("bytes")):
        expect_keys_bound(
            s, prompt, list(keys.fresh.values()), f"allocate_cache({plan.describe()})"
        )
        return
    decoder = s.engines.decoder_linked_to(prompt)
    model = s.caches.fill(cache, data.draw(seeds(), label="seed"))
    for number, index in plan.bindings().items():
        pulled = pull_into_second_batch(s, decoder, keys.fresh[number], layout, dtype)
        expect_slice(s, pulled, model, layout, index, f"key k{number} of {plan.describe()}")


@template("placeholder_key", family="lifecycle", uses_hypothesis=True)
def placeholder_key(s: Scenario, clause: Clause, data: Any) -> None:
    _check_plan(
        s,
        data,
        lengths=lambda batch: (2, batch),
        duplicates=False,
        require=frozenset({"placeholder", "fresh"}),
    )


@template("trailing_keys_omitted", family="lifecycle", uses_hypothesis=True)
def trailing_keys_omitted(s: Scenario, clause: Clause, data: Any) -> None:
    _check_plan(
        s,
        data,
        lengths=lambda batch: (1, batch - 1),
        duplicates=False,
        require=frozenset({"fresh"}),
    )


@template("duplicate_keys_last_wins", family="lifecycle", uses_hypothesis=True)
def duplicate_keys_last_wins(s: Scenario, clause: Clause, data: Any) -> None:
    _check_plan(
        s, data, lengths=lambda batch: (2, batch), duplicates=True, require=frozenset({"duplicate"})
    )
