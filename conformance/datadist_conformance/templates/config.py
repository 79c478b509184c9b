"""Memory-pool configuration: what LLMConfig.mem_pool_cfg / host_mem_pool_cfg accept and mean.

The document says which exceptions a bad value raises, not when
(E-pool-config-validation-time): a clause with ``at_init`` accepts a rejection at
assignment (with ``exceptions``) or, for a value accepted there, at
``LLMDataDist.init`` (with ``at_init``). The meaning checks (page alignment,
bytes) start an engine with the pool and allocate from it.
"""

from __future__ import annotations

import json
from itertools import combinations
from typing import Any

from hypothesis import strategies as st

from ..harness import Cache, Layout, PoolSpec, Scenario, describe
from ..integrity import expect_no_overlap, expect_pool_whole
from ..refusals import REFUSAL_CLAUSE, allocate_or_refused
from ..speclib import Clause
from ..strategies import boundary_first, other_pools, pool_specs
from . import template

#: A valid value of the option, and its fields.
VALID_FIELDS: dict[str, Any] = {"memory_size": 1 << 20, "page_shift": 16}


def _config(s: Scenario) -> Any:
    return s.new("LLMConfig")


def _option(s: Scenario, clause: Clause) -> str:
    return s.ctx.spec.api(clause.api_id).name


def _with(field: str, value: Any) -> str:
    return json.dumps({**VALID_FIELDS, field: value})


def _rejects(s: Scenario, clause: Clause, values: list[Any]) -> None:
    option = _option(s, clause)
    exceptions = list(clause.params["exceptions"])
    at_init = clause.params.get("at_init")
    for value in values:
        if at_init is None:
            s.checker.expect_set_raises(exceptions, _config(s), option, value)
            continue
        config = _config(s)
        if not _accepted_at_assignment(s, exceptions, config, option, value):
            continue
        s.t.begin_block("if accepted:  # a target may reject it at assignment instead")
        s.t.comment("accepted at assignment: LLMDataDist.init must reject it")
        datadist, options = s.engines.unstarted(config)
        s.checker.expect_raises(list(at_init), datadist, "init", options)
        s.t.end_block()


def _accepted_at_assignment(
    s: Scenario, exceptions: list[str], config: Any, option: str, value: Any
) -> bool:
    """Assign ``value``: False when rejected with one of ``exceptions``; a failure otherwise."""
    call = f"{s.t.render(config)}.{option} = {s.t.render(value)}"
    expected = f"accepted, or rejected with {' or '.join(exceptions)}"
    accepted = True
    try:
        s.t.set(config, option, value)
    except s.checker.exception_types(exceptions):
        accepted = False
    except Exception as exc:
        s.checker.replay_outcome(exceptions, call, expected, prefix="raised ")
        s.checker.fail(
            call=call, expected=expected, observed=f"raised {describe(exc)}", replayed=True
        )
    # the replay takes the branch the target it runs against takes
    s.checker.replay_outcome(exceptions, call, expected, prefix="raised ", named="accepted")
    return accepted


def _accepts(s: Scenario, clause: Clause, values: list[Any]) -> None:
    option = _option(s, clause)
    for value in values:
        s.checker.expect_set(_config(s), option, value)


@template("config_requires_string", family="config")
def config_requires_string(s: Scenario, clause: Clause, data: Any) -> None:
    sentinel = object()
    s.t.bind(sentinel, "object()")
    _rejects(
        s, clause, [1 << 20, 1.5, b'{"memory_size": 1048576}', dict(VALID_FIELDS), ["x"], sentinel]
    )
    _accepts(s, clause, [json.dumps(VALID_FIELDS)])


@template("config_requires_json_object", family="config")
def config_requires_json_object(s: Scenario, clause: Clause, data: Any) -> None:
    _rejects(
        s,
        clause,
        [
            "x",
            "[1, 2]",
            "1048576",
            "null",
            '"memory_size"',
            "{",
            "{'memory_size': 1048576}",
            '{"memory_size": 1048576',
        ],
    )


@template("config_field_required", family="config")
def config_field_required(s: Scenario, clause: Clause, data: Any) -> None:
    field = clause.params["field"]
    without = {k: v for k, v in VALID_FIELDS.items() if k != field}
    _rejects(s, clause, [json.dumps(without), "{}"])


@template("config_field_integer", family="config")
def config_field_integer(s: Scenario, clause: Clause, data: Any) -> None:
    field = clause.params["field"]
    number = VALID_FIELDS[field]
    # Left out on purpose: true/false and 1048576.0, which some readings of "int" admit.
    _rejects(
        s,
        clause,
        [
            _with(field, str(number)),
            _with(field, 1.5),
            _with(field, None),
            _with(field, [number]),
            _with(field, {"v": 1}),
        ],
    )


#: The largest value the suite gives a field without an upper bound.
UNBOUNDED_TOP = 2**40  # 1 TiB: far above the host cap, within what an implementation can address


def _allowed(s: Scenario, clause: Clause) -> tuple[int, int, int | None]:
    """(lowest valid, highest valid every reading allows, the documented maximum or None)."""
    p = clause.params
    low = p["exclusive_minimum"] + 1 if "exclusive_minimum" in p else p.get("minimum", 0)
    high = p["exclusive_maximum"] - 1 if "exclusive_maximum" in p else p.get("maximum")
    if high is not None:
        return low, high, high
    # A cap stated for this option only (host_mem_pool_cfg's 20G) bounds what is surely valid
    # here, and must not leak into an option without one.
    caps = [
        s.ctx.spec.constants[name]
        for other in s.ctx.spec.api(clause.api_id).clauses
        if other.kind == "config_size_cap" and other.params["field"] == p["field"]
        for name in other.params["readings"]
    ]
    return low, min(caps, default=UNBOUNDED_TOP), None


@template("config_field_range", family="config", uses_hypothesis=True)
def config_field_range(s: Scenario, clause: Clause, data: Any) -> None:
    """The bounds and a drawn value inside the documented range are accepted; the values just
    outside it and a drawn one farther out are rejected."""
    field = clause.params["field"]
    low, top, maximum = _allowed(s, clause)
    valid = data.draw(st.integers(low, top), label="valid value")
    below = st.integers(low - 2**40, low - 1)
    outside = below if maximum is None else st.one_of(below, st.integers(maximum + 1, 2**31))
    invalid = data.draw(outside, label="invalid value")
    edges = [low - 1] + ([] if maximum is None else [maximum + 1])
    _rejects(s, clause, [_with(field, v) for v in dict.fromkeys([*edges, invalid])])
    _accepts(
        s, clause, [_with(field, v) for v in dict.fromkeys([low, top, VALID_FIELDS[field], valid])]
    )


@template("config_size_cap", family="config")
def config_size_cap(s: Scenario, clause: Clause, data: Any) -> None:
    field = clause.params["field"]
    readings = [s.ctx.spec.constants[name] for name in clause.params["readings"]]
    low, high = min(readings), max(readings)
    s.t.comment(
        f"every reading agrees below {low} and above {high}; sizes in between are not tested"
    )
    _accepts(s, clause, [_with(field, low), _with(field, 1 << 30)])
    _rejects(s, clause, [_with(field, high + 1), _with(field, high * 2), _with(field, 1 << 40)])


def _engine_with_pool(s: Scenario, data: Any, placement: str, pool: PoolSpec) -> Any:
    """An engine whose ``placement`` pool is ``pool``, and whose other pool is drawn: absent, or
    of another size and page_shift (neither option's values may leak into the other pool)."""
    other = data.draw(other_pools(unlike=pool), label="the other pool")
    if other is not None:
        which = "host_mem_pool_cfg" if placement == "DEVICE" else "mem_pool_cfg"
        s.t.comment(f"{which} is {other.json()}: the pool under test must not take its values")
    if placement == "DEVICE":
        return s.engines.start(device_pool=pool, host_pool=other)
    return s.engines.start(device_pool=other, host_pool=pool)


def _count_fitting(s: Scenario, engine: Any, placement: str, size: int, most: int) -> list[Cache]:
    """Allocate one-tensor caches of ``size`` bytes until one fails, at most ``most + 1``."""
    caches: list[Cache] = []
    layout = Layout(1, (1, size), 1)
    mark = len(s.t.lines)
    for _ in range(most + 1):
        desc = s.desc(layout, placement=placement)
        describe_desc = s.t.last_call[1]
        raw = allocate_or_refused(s, engine.cache_manager, "allocate_cache", desc)
        if raw is None:
            break
        caches.append(Cache(raw, layout))
    # In the replay, the loop itself: so that it counts what the target it runs against fits.
    refusals = tuple(s.ctx.spec.clause(REFUSAL_CLAUSE).params["exceptions"])
    s.t.replace_last(
        f"fitted = replay.allocate_until_refused(m, {refusals!r}, lambda: "
        f"{s.t.render(engine.cache_manager)}.allocate_cache({describe_desc}), {most + 1})",
        start=mark,
    )
    for number, cache in enumerate(caches):
        s.t.bind(cache.raw, f"fitted[{number}]")
    return caches


@template("page_alignment", family="config", uses_hypothesis=True)
def page_alignment(s: Scenario, clause: Clause, data: Any) -> None:
    """Caches of a drawn size fill a drawn pool: each takes its size in pages, rounded up.

    With n whole pages, at least n // pages_per_cache caches fit; none may reach
    past memory_size; tensors lie page multiples apart and never overlap.
    """
    placement = clause.params["placement"]
    shift = clause.params.get("page_shift")
    page = 1 << (16 if shift is None else shift)
    pool = data.draw(pool_specs(page_shifts=[shift], max_pages=12), label="pool")
    size = data.draw(
        boundary_first([1, page, page + 1, 2 * page], st.integers(1, 3 * page)),
        label="bytes per cache",
    )
    needs = -(-size // page)
    whole_pages = pool.memory_size // page
    fewest = whole_pages // needs
    most = (pool.memory_size - size) // (needs * page) + 1 if size <= pool.memory_size else 0
    engine = _engine_with_pool(s, data, placement, pool)
    s.t.comment(f"memory_size {pool.memory_size}: {whole_pages} pages of {page}; caches of {size}")
    caches = _count_fitting(s, engine, placement, size, most)
    call = f"allocate_cache(CacheDesc of {size} bytes) until it fails"
    s.checker.check(
        len(caches) >= fewest,
        call=call,
        expected=f"at least {fewest} fit: each takes {needs} pages of {whole_pages}",
        observed=f"{len(caches)} fit",
        replay=f"len(fitted) >= {fewest}",
    )
    s.checker.check(
        len(caches) <= most,
        call=call,
        expected=f"at most {most} fit: each takes {needs} whole pages and none reaches past memory_size",
        observed=f"{len(caches)} fit",
        replay=f"len(fitted) <= {most}",
    )
    addresses = [int(c.raw.tensor_addrs[0]) for c in caches]
    misaligned = [(a, b) for a, b in combinations(addresses, 2) if (a - b) % page]
    s.checker.check(
        not misaligned,
        call="Cache.tensor_addrs of caches from one pool",
        expected=f"addresses a multiple of page_size = {page} apart",
        observed=f"pairs {[(hex(a), hex(b)) for a, b in misaligned[:3]]} are not",
        replay=f"len({{int(cache.tensor_addrs[0]) % {page} for cache in fitted}}) <= 1",
    )
    expect_no_overlap(s, caches, "Cache.tensor_addrs of caches from one pool", (0, "fitted"))


@template("memory_size_in_bytes", family="config", uses_hypothesis=True)
def memory_size_in_bytes(s: Scenario, clause: Clause, data: Any) -> None:
    """memory_size counts bytes: all its whole pages fit in one cache, one page more does not."""
    placement = clause.params["placement"]
    pool = data.draw(pool_specs(page_shifts=[12]), label="pool")
    engine = _engine_with_pool(s, data, placement, pool)
    s.t.comment(f"memory_size = {pool.memory_size} bytes")
    expect_pool_whole(s, engine, pool, "starting the engine", placement)
