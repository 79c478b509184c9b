"""Data movement: copy_cache, copy_blocks and swap_blocks change exactly the specified bytes.

Each property fills source and destination with random patterns, runs the
operation, and compares every byte of the destination with a model of what the
document says (the bytes it names come from the source; all others stay).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..harness import Cache, Layout, Scenario
from ..speclib import Clause
from ..strategies import (
    block_copy_maps,
    block_counts,
    boundary_first,
    layouts,
    seeds,
    swap_maps,
)
from . import template


def _compare(s: Scenario, cache: Cache, model: list[bytearray], call: str) -> None:
    actual = s.caches.read(cache)
    for tensor, (got, want) in enumerate(zip(actual, model, strict=True)):
        if got != bytes(want):
            first = next(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
            last = max(i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
            s.checker.fail(
                call=call,
                expected=f"tensor {tensor} equals the model (source bytes where the call names them, old bytes elsewhere)",
                observed=f"tensor {tensor} differs in bytes [{first}, {last}] of {len(want)}",
                replay=s.caches.bytes_condition(cache, model),
            )


def _copy_cache(
    s: Scenario, clause: Clause, data: Any, *, req_id: bool = False, defaults: bool = False
) -> None:
    focus = clause.params.get("focus", "batch_index")
    if focus in {"offset", "size"}:
        # Only where every reading agrees: batch size 1 (E-copy-cache-offset-scope) and a
        # one-byte data type, so bytes and elements count alike (E-copy-cache-offset-unit).
        layout, dtype = data.draw(
            layouts(itemsize_of=s.ctx.itemsize, max_batch=1, one_byte=True), label="layout"
        )
    else:
        layout, dtype = data.draw(layouts(itemsize_of=s.ctx.itemsize), label="layout")
    total, span = layout.tensor_bytes, layout.slice_bytes
    dst_index = src_index = offset = 0
    size = -1
    if focus == "batch_index" and not defaults:
        last = layout.batch - 1
        dst_index = data.draw(
            boundary_first([last, 0], st.integers(0, last)), label="dst_batch_index"
        )
        src_index = data.draw(
            boundary_first([last, 0], st.integers(0, last)), label="src_batch_index"
        )
    elif focus == "offset":
        offset = data.draw(
            boundary_first([total - 1, 0], st.integers(0, total - 1)), label="offset"
        )
        size = data.draw(
            boundary_first([total - offset, 1], st.integers(1, total - offset)), label="size"
        )
    elif focus == "size":
        size = data.draw(boundary_first([-1, total, 1], st.integers(1, total)), label="size")
    engine = s.engines.shared()
    dst, src = (
        s.caches.allocate(engine, layout, dtype=dtype),
        s.caches.allocate(engine, layout, dtype=dtype),
    )
    model = s.caches.fill(dst, data.draw(seeds(), label="dst seed"))
    source = s.caches.fill(src, data.draw(seeds(), label="src seed"))
    count = span - offset if size == -1 else size
    for tensor in range(layout.num_tensors):
        at_dst, at_src = dst_index * span + offset, src_index * span + offset
        model[tensor][at_dst : at_dst + count] = source[tensor][at_src : at_src + count]
    if defaults:
        args: tuple[Any, ...] = ()
    else:
        args = (dst_index, src_index, offset, size)
    kwargs = {"req_id": data.draw(st.integers(0, 2**63), label="req_id")} if req_id else {}
    s.checker.expect_ok(engine.cache_manager, "copy_cache", dst.raw, src.raw, *args, **kwargs)
    _compare(s, dst, model, f"copy_cache(dst, src, {', '.join(map(str, args))})")
    _compare(s, src, source, "copy_cache (the source must not change)")


#: Bytes of one tensor the block properties stay under: maps of hundreds of pairs get small
#: blocks, so that a ``ci`` run stays fast.
BLOCK_TENSOR_BYTES = 1 << 16


def block_layout(s: Scenario, data: Any, blocks: int, label: str) -> tuple[Layout, str]:
    """A layout of ``blocks`` blocks of rank 2 to 4 whose tensors stay under BLOCK_TENSOR_BYTES."""
    room = max(1, min(24, BLOCK_TENSOR_BYTES // (8 * blocks)))
    return data.draw(  # type: ignore[no-any-return]
        layouts(
            itemsize_of=s.ctx.itemsize, min_batch=blocks, max_batch=blocks, max_row_elements=room
        ),
        label=label,
    )


def _copy_blocks(s: Scenario, data: Any) -> None:
    # Maps of up to hundreds of pairs cross any internal batching of the copies.
    blocks = data.draw(block_counts(low=2, high=300), label="blocks")
    layout, dtype = block_layout(s, data, blocks, "layout")
    mapping = data.draw(block_copy_maps(num_blocks=layout.batch), label="copy_block_info")
    engine = s.engines.shared()
    cache = s.caches.allocate_blocks(engine, layout, dtype=dtype)
    model = s.caches.fill(cache, data.draw(seeds(), label="seed"))
    span = layout.slice_bytes
    for tensor in model:
        for source, destinations in mapping.items():
            for destination in destinations:
                tensor[destination * span : (destination + 1) * span] = tensor[
                    source * span : (source + 1) * span
                ]
    s.checker.expect_ok(engine.cache_manager, "copy_blocks", cache.raw, mapping)
    _compare(s, cache, model, f"copy_blocks(cache, {mapping})")


def _swap(s: Scenario, data: Any, direction: str) -> None:
    # Maps of up to hundreds of pairs cross any internal batching (workers, rings, chunks).
    blocks = data.draw(block_counts(low=1, high=300), label="device blocks")
    layout, dtype = block_layout(s, data, blocks, "device layout")
    host_blocks = data.draw(block_counts(low=1, high=300), label="host blocks")
    host_layout = Layout(layout.num_tensors, (host_blocks, *layout.shape[1:]), layout.itemsize)
    engine = s.engines.shared()
    device = s.caches.allocate_blocks(engine, layout, dtype=dtype)
    host = s.caches.cpu_cache(host_layout, dtype=dtype)
    device_model = s.caches.fill(device, data.draw(seeds(), label="device seed"))
    host_model = s.caches.fill(host, data.draw(seeds(), label="host seed"))
    if direction == "swap_in":
        src, dst, src_model, dst_model = host, device, host_model, device_model
    else:
        src, dst, src_model, dst_model = device, host, device_model, host_model
    mapping = data.draw(
        swap_maps(source_blocks=src.layout.batch, destination_blocks=dst.layout.batch),
        label="src_to_dst",
    )
    span = layout.slice_bytes
    for tensor in range(layout.num_tensors):
        for source, destination in mapping.items():
            dst_model[tensor][destination * span : (destination + 1) * span] = src_model[tensor][
                source * span : (source + 1) * span
            ]
    s.checker.expect_ok(engine.cache_manager, "swap_blocks", src.raw, dst.raw, mapping)
    _compare(s, dst, dst_model, f"swap_blocks({direction}, {mapping})")
    _compare(s, src, src_model, f"swap_blocks({direction}) (the source must not change)")


@template("copies_bytes", family="data", uses_hypothesis=True)
def copies_bytes(s: Scenario, clause: Clause, data: Any) -> None:
    operation = clause.params["operation"]
    if operation == "copy_cache":
        _copy_cache(s, clause, data)
    elif operation == "copy_blocks":
        _copy_blocks(s, data)
    else:
        _swap(s, data, operation)


@template("defaults_apply", family="data", uses_hypothesis=True)
def defaults_apply(s: Scenario, clause: Clause, data: Any) -> None:
    _copy_cache(s, clause, data, defaults=True)


@template("no_behaviour_change", family="data", uses_hypothesis=True)
def no_behaviour_change(s: Scenario, clause: Clause, data: Any) -> None:
    _copy_cache(s, clause, data, req_id=True)
