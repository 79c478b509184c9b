"""Calls that must fail and change nothing: bad indices anywhere in a map, mismatched caches.

Every check fills each cache the call involves with its own pattern, makes the
call with valid entries before the bad one (so validating entry by entry while
copying shows), and then compares every byte of every involved cache: a call
that raises must not have written any of them. Once the check releases its
caches, the pool must be whole again: the failed call kept none of its memory. Maps and layouts are drawn over
real shapes (rank 2 to 4, every data type, maps of one to hundreds of pairs).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..harness import Cache, Engine, Layout, PoolSpec, Scenario
from ..integrity import (
    bytes_checked_or_untestable,
    expect_bytes_unchanged,
    expect_pool_whole,
    fill_all,
)
from ..speclib import Clause
from ..strategies import (
    bad_block_copy_maps,
    bad_copy_cache_args,
    bad_swap_maps,
    block_counts,
    layouts,
    seeds,
)
from . import template
from .data import block_layout

#: The device pool of these checks: room for every drawn layout, small enough to check whole.
POOL = PoolSpec(1 << 20, 12)


def _engine(s: Scenario) -> Engine:
    """A PROMPT engine on POOL (no host pool: HOST caches are suite-owned memory)."""
    return s.engines.start(device_pool=POOL)


def _raises_and_changes_nothing(
    s: Scenario,
    clause: Clause,
    engine: Engine,
    caches: list[Cache],
    seed: int,
    method: str,
    *args: Any,
) -> None:
    """``method(*args)`` raises; no byte of ``caches`` changed."""
    before = fill_all(s, caches, seed)
    raw = [a.raw if isinstance(a, Cache) else a for a in args]
    s.checker.expect_raises(list(clause.params["exceptions"]), engine.cache_manager, method, *raw)
    call = f"{method}({', '.join(s.t.render(a) for a in raw)}) that raised"
    expect_bytes_unchanged(s, caches, before, call)


def _pool_as_before(
    s: Scenario, engine: Engine, pooled: list[tuple[str, Cache]], after: str
) -> None:
    """Once the check's caches of POOL are released, POOL holds what it held: the failed call
    kept no memory of it (a staging buffer, say)."""
    for release, cache in pooled:
        s.checker.setup(engine.cache_manager, release, cache.raw)
    expect_pool_whole(s, engine, POOL, f"{after} and releasing the caches")


def _copy_cache(s: Scenario, clause: Clause, data: Any) -> None:
    layout, dtype = data.draw(layouts(itemsize_of=s.ctx.itemsize), label="layout")
    wrong, args = data.draw(bad_copy_cache_args(layout=layout), label="arguments")
    engine = _engine(s)
    dst, src = (
        s.caches.allocate(engine, layout, dtype=dtype),
        s.caches.allocate(engine, layout, dtype=dtype),
    )
    s.t.comment(f"{wrong} reaches outside the caches; dst is live cache #0, src #1")
    seed = data.draw(seeds(), label="seed")
    _raises_and_changes_nothing(s, clause, engine, [dst, src], seed, "copy_cache", dst, src, *args)
    _pool_as_before(s, engine, [("deallocate_cache", dst), ("deallocate_cache", src)], wrong)
    if data.draw(st.booleans(), label="also a destination smaller than the source"):
        _smaller_destination(s, clause, engine, seed)


def _smaller_destination(s: Scenario, clause: Clause, engine: Engine, seed: int) -> None:
    """A size that fits the source's slice but not the destination's: out of bounds under
    every reading of "CacheDesc must match" (E-copy-cache-desc-match), so it raises and
    writes nothing, even where an implementation checks the size against the source only."""
    dst = s.caches.allocate(engine, Layout(1, (1, 32), 1))
    src = s.caches.allocate(engine, Layout(1, (1, 64), 1))
    s.t.comment("dst's slice (32 bytes) is smaller than src's (64) and than the size (48)")
    _raises_and_changes_nothing(
        s, clause, engine, [dst, src], seed, "copy_cache", dst, src, 0, 0, 0, 48
    )
    pooled = [("deallocate_cache", dst), ("deallocate_cache", src)]
    _pool_as_before(s, engine, pooled, "a copy_cache past the smaller destination")


def _copy_blocks(s: Scenario, clause: Clause, data: Any) -> None:
    blocks = data.draw(block_counts(low=2, high=300), label="blocks")
    layout, dtype = block_layout(s, data, blocks, "layout")
    mapping = data.draw(bad_block_copy_maps(num_blocks=blocks), label="copy_block_info")
    engine = _engine(s)
    cache = s.caches.allocate_blocks(engine, layout, dtype=dtype)
    seed = data.draw(seeds(), label="seed")
    _raises_and_changes_nothing(s, clause, engine, [cache], seed, "copy_blocks", cache, mapping)
    _pool_as_before(s, engine, [("deallocate_blocks_cache", cache)], "the copy_blocks that raised")


def _swap_blocks(s: Scenario, clause: Clause, data: Any) -> None:
    blocks = data.draw(block_counts(low=1, high=300), label="device blocks")
    layout, dtype = block_layout(s, data, blocks, "device layout")
    host_blocks = data.draw(block_counts(low=1, high=300), label="host blocks")
    host_layout = Layout(layout.num_tensors, (host_blocks, *layout.shape[1:]), layout.itemsize)
    engine = _engine(s)
    device = s.caches.allocate_blocks(engine, layout, dtype=dtype)
    host = s.caches.cpu_cache(host_layout, dtype=dtype)
    swap_in = data.draw(st.booleans(), label="swap in (HOST -> DEVICE)")
    src, dst = (host, device) if swap_in else (device, host)
    mapping = data.draw(
        bad_swap_maps(source_blocks=src.layout.batch, destination_blocks=dst.layout.batch),
        label="src_to_dst",
    )
    s.t.comment("live cache #0 is the source, #1 the destination")
    seed = data.draw(seeds(), label="seed")
    _raises_and_changes_nothing(
        s, clause, engine, [src, dst], seed, "swap_blocks", src, dst, mapping
    )
    _pool_as_before(s, engine, [("deallocate_blocks_cache", device)], "the swap_blocks that raised")


@template("bounds_checked", family="negative", uses_hypothesis=True)
def bounds_checked(s: Scenario, clause: Clause, data: Any) -> None:
    """An index, offset or size outside the caches raises, and no byte of them changes."""
    api_name = s.ctx.spec.api(clause.api_id).name
    checks = {"copy_cache": _copy_cache, "copy_blocks": _copy_blocks, "swap_blocks": _swap_blocks}
    if api_name not in checks:
        raise AssertionError(f"bounds_checked has no case for {clause.api_id}")
    checks[api_name](s, clause, data)


@template("raises_on_mismatch", family="negative")
def raises_on_mismatch(s: Scenario, clause: Clause, data: Any) -> None:
    """swap_blocks between caches whose tensor counts or block sizes differ raises, in both
    directions, and writes neither cache."""
    engine = _engine(s)
    base = Layout(1, (4, 32), 1)
    mismatched = {"num_tensors": Layout(2, (4, 32), 1), "block_size": Layout(1, (4, 64), 1)}
    mapping = {0: 1, 1: 0, 2: 3}  # valid pairs only: the caches, not the map, are wrong
    for difference in clause.params["differ"]:
        other = mismatched[difference]
        for device_layout, host_layout in ((base, other), (other, base)):
            device = s.caches.allocate_blocks(engine, device_layout)
            host = s.caches.cpu_cache(host_layout)
            s.t.comment(f"{difference} differs between the caches (#0 device, #1 host)")
            for src, dst in ((host, device), (device, host)):
                _raises_and_changes_nothing(
                    s, clause, engine, [device, host], 11, "swap_blocks", src, dst, mapping
                )
            _pool_as_before(
                s, engine, [("deallocate_blocks_cache", device)], "swap_blocks that raised"
            )


@template("desc_must_match", family="negative")
def desc_must_match(s: Scenario, clause: Clause, data: Any) -> None:
    """copy_cache between caches whose CacheDesc differ raises and writes neither cache."""
    engine = _engine(s)
    for dst_layout, src_layout in (
        (Layout(2, (2, 16), 1), Layout(1, (2, 16), 1)),
        (Layout(1, (2, 16), 1), Layout(3, (2, 16), 1)),
    ):
        dst, src = s.caches.allocate(engine, dst_layout), s.caches.allocate(engine, src_layout)
        s.t.comment("num_tensors differs between dst (#0) and src (#1)")
        _raises_and_changes_nothing(s, clause, engine, [dst, src], 13, "copy_cache", dst, src)
        pooled = [("deallocate_cache", dst), ("deallocate_cache", src)]
        _pool_as_before(s, engine, pooled, "copy_cache that raised")
    bytes_checked_or_untestable(s, "copy_cache with mismatched CacheDesc")
