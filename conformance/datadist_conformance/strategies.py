"""Every hypothesis strategy of the suite, and the catalogue of wrongly-typed values.

Strategies are small and keyword-only; callers label every draw
(``data.draw(layouts(), label="layout")``) so that a falsifying example reads
as a list of named choices.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from hypothesis import strategies as st

from .typecheck import admits

if TYPE_CHECKING:
    from .harness import Layout, PoolSpec, Scenario
    from .keyplans import KeyPlan
    from .speclib import Param

__all__ = [
    "DTYPES",
    "bad_block_copy_maps",
    "bad_copy_cache_args",
    "bad_swap_maps",
    "block_copy_maps",
    "block_counts",
    "boundary_first",
    "key_plans",
    "layouts",
    "mixed_flags",
    "other_pools",
    "pool_specs",
    "seeds",
    "swap_maps",
    "wrong_values",
]

T = TypeVar("T")

#: Data types the suite builds caches from (fixed-size ones only).
DTYPES = ("DT_UINT8", "DT_INT8", "DT_FLOAT16", "DT_BF16", "DT_INT32", "DT_FLOAT", "DT_INT64")


def seeds() -> st.SearchStrategy[int]:
    return st.integers(min_value=0, max_value=2**31 - 1)


def boundary_first(boundaries: Sequence[T], general: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """One of ``boundaries`` or any value of ``general``.

    Hypothesis' simplest choice is the first boundary, and about half of the
    random draws pick a boundary, so a ``ci`` run (100 examples) reaches every
    boundary whatever its seed.
    """
    return st.one_of(st.sampled_from(list(boundaries)), general)


@st.composite
def pool_specs(
    draw: st.DrawFn, *, page_shifts: Sequence[int | None] = (10, 12), max_pages: int = 16
) -> PoolSpec:
    """A pool of 2 to ``max_pages`` whole pages, and sometimes part of one more page.

    ``None`` in ``page_shifts`` leaves page_shift out (the default, 16).
    """
    from .harness import PoolSpec

    shift = draw(st.sampled_from(list(page_shifts)), label="page_shift")
    page = 1 << (16 if shift is None else shift)
    pages = draw(boundary_first([max_pages, 2], st.integers(2, max_pages)), label="whole pages")
    extra = draw(boundary_first([0, 1, page - 1], st.integers(1, page - 1)), label="extra bytes")
    return PoolSpec(pages * page + extra, shift)


@st.composite
def layouts(
    draw: st.DrawFn,
    *,
    itemsize_of: Any,
    max_tensors: int = 3,
    min_batch: int = 1,
    max_batch: int = 4,
    max_row_elements: int = 48,
    max_rank: int = 4,
    one_byte: bool = False,
) -> tuple[Layout, str]:
    """A cache layout [batch, d1, ...] of rank 2 to ``max_rank`` and its dtype.

    The elements of one batch index (d1 * d2 * ...) are at most ``max_row_elements``;
    ``itemsize_of`` maps dtype -> bytes. Block shapes of rank 3 and 4 catch code
    that sizes a block from shape[1] alone. ``one_byte``: only one-byte data types,
    where counts of bytes and of elements agree.
    """
    from .harness import Layout

    choices = [d for d in DTYPES if itemsize_of(d) == 1] if one_byte else DTYPES
    dtype = draw(st.sampled_from(choices), label="dtype")
    num_tensors = draw(st.integers(1, max_tensors), label="num_tensors")
    batch = draw(
        boundary_first([max_batch, min_batch], st.integers(min_batch, max_batch)), label="batch"
    )
    rank = draw(st.integers(2, max_rank), label="rank")
    dims: list[int] = []
    for axis in range(1, rank):
        room = max_row_elements // max(1, math.prod(dims))
        dims.append(draw(st.integers(1, max(1, room)), label=f"shape[{axis}]"))
    return Layout(num_tensors, (batch, *dims), itemsize_of(dtype)), dtype


@st.composite
def key_plans(
    draw: st.DrawFn,
    *,
    batch: int,
    lengths: tuple[int, int],
    placeholders: bool = False,
    duplicates: bool = False,
    bound: bool = False,
    require: frozenset[str] = frozenset(),
) -> KeyPlan:
    """A cache_keys list of a length in ``lengths``, mixing fresh keys with what is allowed.

    ``require`` names features the list must have ("placeholder", "duplicate",
    "bound", "fresh"); a required feature is placed at a drawn position.
    """
    from .keyplans import BOUND, PLACEHOLDER, KeyPlan

    low, high = lengths
    length = draw(boundary_first([high, low], st.integers(low, high)), label="number of keys")
    entries: list[int | str] = []
    for i in range(length):
        earlier = sorted({e for e in entries if isinstance(e, int)})
        choices: list[int | str] = [len(earlier)]
        choices += [PLACEHOLDER] if placeholders else []
        choices += earlier if duplicates else []
        choices += [BOUND] if bound else []
        entries.append(draw(st.sampled_from(choices), label=f"key {i}"))
    _require(draw, entries, require, {"placeholder": PLACEHOLDER, "bound": BOUND})
    return KeyPlan(batch, tuple(entries))


def _require(
    draw: st.DrawFn, entries: list[int | str], require: frozenset[str], names: dict[str, str]
) -> None:
    """Give ``entries`` each required feature, on positions of their own (drawn)."""
    needed = 2 * ("duplicate" in require) + sum(f in require for f in ("placeholder", "bound"))
    if len(entries) < needed + ("fresh" in require and "duplicate" not in require):
        raise ValueError(f"{len(entries)} keys cannot hold {sorted(require)}")
    free = list(draw(st.permutations(range(len(entries))), label="positions of the required keys"))
    if "duplicate" in require:
        first, later = sorted(free[:2])
        entries[first] = entries[later] = 999
        free = free[2:]
    for feature in ("placeholder", "bound"):
        if feature in require:
            entries[free.pop(0)] = names[feature]
    if "fresh" in require and "duplicate" not in require:
        entries[free.pop(0)] = 1000


#: Up to this many blocks, an order is a permutation hypothesis shrinks; beyond, a seeded shuffle.
SHRINKABLE_ORDER = 16


def _order(draw: st.DrawFn, n: int, label: str) -> list[int]:
    """range(n) in a drawn order. Drawing a permutation of hundreds of blocks costs hundreds
    of choices per example, which would dominate a ``ci`` run; long orders are one drawn seed."""
    if n <= SHRINKABLE_ORDER:
        return list(draw(st.permutations(range(n)), label=label))
    order = list(range(n))
    random.Random(draw(seeds(), label=f"{label} (shuffle seed)")).shuffle(order)
    return order


@st.composite
def block_copy_maps(draw: st.DrawFn, *, num_blocks: int) -> dict[int, list[int]]:
    """{source block: [destination blocks]}, sources disjoint from every destination.

    The document does not order copies, so maps that read a block another entry
    writes (or write one block twice) would have several right answers; the
    suite never draws them.
    """
    blocks = _order(draw, num_blocks, "block order")
    num_sources = draw(st.integers(1, max(1, num_blocks // 2)), label="number of sources")
    sources, free = blocks[:num_sources], list(blocks[num_sources:])
    mapping: dict[int, list[int]] = {}
    for source in sources:
        if not free:
            break
        count = draw(st.integers(1, len(free)), label=f"destinations of {source}")
        mapping[source], free = free[:count], free[count:]
    return mapping or {blocks[0]: [blocks[-1]]}


#: Map lengths on either side of the batch sizes an implementation might copy in internally
#: (workers, rings of staging buffers, chunks of 8 to 256 pairs).
BATCHING_EDGES = (1, 2, 4, 5, 8, 9, 16, 17, 32, 33, 64, 65, 128, 129, 256, 257)


def block_counts(*, low: int = 1, high: int = 300) -> st.SearchStrategy[int]:
    """A number of blocks (or pairs) in [low, high], often just on either side of a batching edge."""
    edges = [high, low, *(e for e in BATCHING_EDGES if low < e < high)]
    return boundary_first(edges, st.integers(low, high))


@st.composite
def swap_maps(draw: st.DrawFn, *, source_blocks: int, destination_blocks: int) -> dict[int, int]:
    """{source block: destination block}, destinations distinct, 1 to every block long."""
    most = min(source_blocks, destination_blocks)
    size = draw(block_counts(low=1, high=most), label="blocks to swap")
    sources = _order(draw, source_blocks, "sources")[:size]
    destinations = _order(draw, destination_blocks, "destinations")[:size]
    return dict(zip(sources, destinations, strict=True))


def bad_block_indices(*, num_blocks: int) -> st.SearchStrategy[int]:
    """A block index outside [0, num_blocks): just past either end, or far out."""
    far = st.one_of(st.integers(num_blocks, num_blocks + 2**20), st.integers(-(2**20), -1))
    return boundary_first([num_blocks, -1], far)


@st.composite
def bad_block_copy_maps(draw: st.DrawFn, *, num_blocks: int) -> dict[int, list[int]]:
    """A valid copy_block_info with one index outside the cache, as a source or inside a
    destination list, mostly after valid entries (so all-or-nothing validation is seen)."""
    entries = list(draw(block_copy_maps(num_blocks=num_blocks), label="valid entries").items())
    bad = draw(bad_block_indices(num_blocks=num_blocks), label="bad block index")
    if draw(st.booleans(), label="bad index is a source"):
        at = draw(boundary_first([len(entries)], st.integers(0, len(entries))), label="entry")
        destination = draw(st.integers(0, num_blocks - 1), label="its destination")
        entries.insert(at, (bad, [destination]))
    else:
        which = draw(
            boundary_first([len(entries) - 1], st.integers(0, len(entries) - 1)), label="entry"
        )
        source, destinations = entries[which]
        at = draw(
            boundary_first([len(destinations)], st.integers(0, len(destinations))),
            label="position in its destinations",
        )
        entries[which] = (source, [*destinations[:at], bad, *destinations[at:]])
    return dict(entries)


@st.composite
def bad_swap_maps(
    draw: st.DrawFn, *, source_blocks: int, destination_blocks: int
) -> dict[int, int]:
    """A valid src_to_dst with one pair naming a block outside its cache, mostly after valid
    pairs."""
    pairs = list(
        draw(
            swap_maps(source_blocks=source_blocks, destination_blocks=destination_blocks),
            label="valid pairs",
        ).items()
    )
    if draw(st.booleans(), label="bad index is a source"):
        bad = (draw(bad_block_indices(num_blocks=source_blocks), label="bad source"), 0)
    else:
        bad = (
            draw(st.integers(0, source_blocks - 1), label="source"),
            draw(bad_block_indices(num_blocks=destination_blocks), label="bad destination"),
        )
    pairs = [pair for pair in pairs if pair[0] != bad[0]]  # the bad pair takes its source's place
    at = draw(boundary_first([len(pairs)], st.integers(0, len(pairs))), label="position")
    pairs.insert(at, bad)
    return dict(pairs)


@st.composite
def bad_copy_cache_args(
    draw: st.DrawFn, *, layout: Layout
) -> tuple[str, tuple[int, int, int, int]]:
    """(what is wrong, (dst_batch_index, src_batch_index, offset, size)) with one argument
    outside the caches under every reading: a batch index past the batch, a negative offset,
    or offset/size reaching past the whole tensor (past any slice, in bytes or in elements)."""
    wrong = draw(
        st.sampled_from(["dst_batch_index", "src_batch_index", "offset", "size"]), label="wrong"
    )
    total = layout.tensor_bytes
    if wrong in {"dst_batch_index", "src_batch_index"}:
        index = draw(bad_block_indices(num_blocks=layout.batch), label=wrong)
        args = (index, 0, 0, -1) if wrong == "dst_batch_index" else (0, index, 0, -1)
    elif wrong == "offset":
        past = st.one_of(st.integers(total, total + 2**20), st.integers(-(2**20), -1))
        offset = draw(boundary_first([total, -1], past), label="offset")
        # At offset == total a one-batch slice ends exactly there: size -1 ("the rest") is then
        # an empty copy, which may be a no-op; one byte more is outside under every reading.
        sizes = [1] if offset == total else [-1, 1]
        args = (0, 0, offset, draw(st.sampled_from(sizes), label="size"))
    else:
        offset = draw(boundary_first([0], st.integers(0, total - 1)), label="offset")
        low = total - offset + 1
        size = draw(boundary_first([low], st.integers(low, low + 2**20)), label="size")
        args = (0, 0, offset, size)
    return wrong, args


@st.composite
def other_pools(draw: st.DrawFn, *, unlike: PoolSpec) -> PoolSpec | None:
    """No second pool, or one whose size and page_shift both differ from ``unlike``'s: a value
    of one option must not leak into the other pool."""
    from .harness import PoolSpec

    if not draw(st.booleans(), label="the other pool is configured"):
        return None
    shift = 13 if unlike.page_size == 1 << 11 else 11
    pages = draw(st.integers(2, 24), label="other pool's pages")
    size = pages * (1 << shift) + 3
    if size == unlike.memory_size:
        size += 1 << shift
    return PoolSpec(size, shift)


@st.composite
def mixed_flags(draw: st.DrawFn, *, size: int) -> list[bool]:
    """``size`` flags, at least one set and one clear, drawn directly (no filter to reject)."""
    count = draw(st.integers(1, size - 1), label="flags set")
    chosen = draw(st.permutations(range(size)), label="positions")[:count]
    return [index in chosen for index in range(size)]


def wrong_values(
    s: Scenario, param: Param, *, none_excluded: bool = False
) -> list[tuple[str, Any]]:
    """Values whose type ``param``'s type expression does not admit: (description, value).

    The catalogue mixes builtins, containers with a wrong element, and objects of
    the target's own classes used in the wrong place. Values a reader could
    argue either way are left out: bool for int, a tuple for a List, None where
    the default is None.
    """
    candidates = _catalogue(s)
    result = []
    for label, value in candidates:
        if value is None and (none_excluded or param.default == "None"):
            continue
        if admits(value, param.type, s.m, lenient_sequences=True) is False:
            result.append((label, value))
    return result


def _catalogue(s: Scenario) -> list[tuple[str, Any]]:
    sentinel = object()
    s.t.bind(sentinel, "object()")
    m = s.m
    own: list[tuple[str, Any]] = []
    builders: list[tuple[str, Callable[[], Any]]] = [
        ("a CacheKey", lambda: s.new("CacheKey", 1, 2)),
        ("a BlocksCacheKey", lambda: s.new("BlocksCacheKey", 1)),
        ("a CacheKeyByIdAndIndex", lambda: s.new("CacheKeyByIdAndIndex", 1, 2, 0)),
        ("a CacheDesc", lambda: s.new("CacheDesc", 1, [1, 4], s.enum("DataType", "DT_UINT8"))),
        ("an LLMConfig", lambda: s.new("LLMConfig")),
    ]
    for label, build in builders:
        try:
            own.append((label, build()))
        except Exception:
            continue
    wrong_key = own[1][1] if len(own) > 1 else sentinel
    return [
        ("None", None),
        ("an int", 7),
        ("a negative int", -3),
        ("a float", 1.5),
        ("a str", "x"),
        ("a numeric str", "1"),
        ("bytes", b"x"),
        ("an object()", sentinel),
        ("a set", {1, 2}),
        ("an empty dict", {}),
        ("a dict of str", {"a": "b"}),
        ("a dict with a str key", {"a": [1]}),
        ("a dict with a float value", {1: 1.5}),
        ("a dict with a str in its list", {1: [2, "x"]}),
        ("a list of str", ["x"]),
        ("a list with None", [None]),
        ("a list with a float", [1.5]),
        ("a tuple of str", ("x",)),
        ("an enum member of another enum", s.enum("Placement", "HOST")),
        ("a DataType member", s.enum("DataType", "DT_UINT8")),
        ("the LLMRole enum class", m.LLMRole),
        *own,
        ("a list holding a BlocksCacheKey", [wrong_key]),
    ]
