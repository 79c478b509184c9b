"""Bandwidth: the core's copies, swaps and pulls against memcpy and numpy of the same bytes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from common import (
    KiB,
    MiB,
    Row,
    Settings,
    aligned_host_array,
    engine,
    gbps,
    interleaved,
    linked_pair,
    random_pairs,
    tensor_array,
)

import llm_datadist_ref as ld
from llm_datadist_ref import _core


def copy_blocks_rows(
    cm: ld.CacheManager,
    settings: Settings,
    rng: np.random.Generator,
    block: int,
    memcpy_target: float,
) -> list[Row]:
    blocks = settings.cache_bytes // block
    cache = cm.allocate_blocks_cache(ld.CacheDesc(1, [blocks, block], ld.DataType.DT_UINT8))
    tensor = tensor_array(cache, 0, blocks)
    tensor[:] = 7  # fault the pages in before timing
    count = min(settings.call_bytes // block, blocks // 2)
    nbytes = count * block
    baseline = _core.bench.MemcpyBench(settings.cache_bytes, settings.cache_bytes)

    def case(rep: int) -> dict[str, Callable[[], float | None]]:
        src, dst = random_pairs(rng, blocks, count)
        info = {s: [d] for s, d in zip(src, dst, strict=True)}

        def numpy_copy() -> None:
            for s, ds in info.items():
                for d in ds:
                    tensor[d] = tensor[s]

        return {
            "core": lambda: cm.copy_blocks(cache, info),
            "memcpy": lambda: baseline.copy_blocks(block, src, dst, 1),
            "memcpy2": lambda: baseline.copy_blocks(block, src, dst, 2),
            "numpy": numpy_copy,
        }

    times = interleaved(case, settings.repeat)
    core, memcpy, numpy, memcpy2 = (times[n] for n in ("core", "memcpy", "numpy", "memcpy2"))
    vs_memcpy, vs_numpy = times.ratio("memcpy", "core"), times.ratio("numpy", "core")
    cm.deallocate_blocks_cache(cache)
    label = f"copy_blocks {block // KiB} KiB x {count}"
    numpy_target = 1.3 if block <= 64 * KiB else None
    return [
        Row(f"{label} vs memcpy", gbps(nbytes, core), gbps(nbytes, memcpy), vs_memcpy,
            f">= {memcpy_target:.2f}x", vs_memcpy >= memcpy_target),
        Row("  same, vs 2-thread memcpy", gbps(nbytes, core), gbps(nbytes, memcpy2),
            times.ratio("memcpy2", "core"), "-", None),
        Row(f"{label} vs numpy", gbps(nbytes, core), gbps(nbytes, numpy), vs_numpy,
            f">= {numpy_target:.2f}x" if numpy_target else "-",
            None if numpy_target is None else vs_numpy >= numpy_target),
    ]  # fmt: skip


def bench_copy_blocks(settings: Settings, rng: np.random.Generator) -> list[Row]:
    rows = []
    with engine(settings) as cm:
        for block, memcpy_target in ((4 * KiB, 0.60), (64 * KiB, 0.90), (MiB, 0.90)):
            rows += copy_blocks_rows(cm, settings, rng, block, memcpy_target)
    return rows


def swap_blocks_rows(
    cm: ld.CacheManager, settings: Settings, rng: np.random.Generator, block: int
) -> list[Row]:
    blocks = settings.cache_bytes // 2 // block
    device = cm.allocate_blocks_cache(ld.CacheDesc(1, [blocks, block], ld.DataType.DT_UINT8))
    tensor_array(device, 0, blocks)[:] = 3
    host_desc = ld.CacheDesc(1, [blocks, block], ld.DataType.DT_UINT8, ld.Placement.HOST)
    host_memory = aligned_host_array(host_desc.size, 5)
    host = ld.Cache.create_cpu_cache(host_desc, [host_memory])
    count = min(settings.call_bytes // block, blocks)
    nbytes = count * block
    baseline = _core.bench.MemcpyBench(host_desc.size, host_desc.size)

    def case(rep: int) -> dict[str, Callable[[], float | None]]:
        src = rng.permutation(blocks)[:count].tolist()
        dst = rng.permutation(blocks)[:count].tolist()
        mapping = dict(zip(src, dst, strict=True))
        return {
            "out": lambda: cm.swap_blocks(device, host, mapping),
            "two_threads": lambda: baseline.copy_blocks(block, src, dst, 2),
            "in": lambda: cm.swap_blocks(host, device, mapping),
            "one_thread": lambda: baseline.copy_blocks(block, src, dst, 1),
        }

    times = interleaved(case, settings.repeat)
    swap_out, two_threads = times["out"], times["two_threads"]
    swap_in, one_thread = times["in"], times["one_thread"]
    out_ratio, in_ratio = times.ratio("two_threads", "out"), times.ratio("one_thread", "in")
    cm.deallocate_blocks_cache(device)
    label = f"swap_blocks {block // KiB} KiB x {count}"
    return [
        Row(f"{label} out vs 2-thread memcpy", gbps(nbytes, swap_out), gbps(nbytes, two_threads),
            out_ratio, ">= 0.85x", out_ratio >= 0.85),
        Row(f"{label} in (staged) vs 1-thread", gbps(nbytes, swap_in), gbps(nbytes, one_thread),
            in_ratio, ">= 0.80x", in_ratio >= 0.8),
    ]  # fmt: skip


def bench_swap_blocks(settings: Settings, rng: np.random.Generator) -> list[Row]:
    rows = []
    with engine(settings) as cm:
        for block in (64 * KiB, MiB):
            rows += swap_blocks_rows(cm, settings, rng, block)
    return rows


def bench_copy_cache(settings: Settings, rng: np.random.Generator) -> list[Row]:
    slice_bytes = MiB
    batch = settings.cache_bytes // 2 // slice_bytes
    with engine(settings) as cm:
        cache_desc = ld.CacheDesc(1, [batch, slice_bytes], ld.DataType.DT_UINT8)
        src, dst = cm.allocate_cache(cache_desc), cm.allocate_cache(cache_desc)
        tensor_array(src, 0, batch)[:] = 1
        tensor_array(dst, 0, batch)[:] = 2
        calls = min(settings.call_bytes // slice_bytes, batch)
        baseline = _core.bench.MemcpyBench(cache_desc.size, cache_desc.size)

        def case(rep: int) -> dict[str, Callable[[], float | None]]:
            src_index = rng.permutation(batch)[:calls].tolist()
            dst_index = rng.permutation(batch)[:calls].tolist()

            def core() -> None:
                for s, d in zip(src_index, dst_index, strict=True):
                    cm.copy_cache(dst, src, d, s)

            return {
                "core": core,
                "memcpy": lambda: baseline.copy_blocks(slice_bytes, src_index, dst_index, 1),
            }

        times = interleaved(case, settings.repeat)
        seconds, memcpy, ratio = times["core"], times["memcpy"], times.ratio("memcpy", "core")
    nbytes = calls * slice_bytes
    return [
        Row(f"copy_cache 1 MiB slice x {calls} calls", gbps(nbytes, seconds), gbps(nbytes, memcpy),
            ratio, "-", None)
    ]  # fmt: skip


def bench_pull_cache(settings: Settings, rng: np.random.Generator) -> list[Row]:
    slice_bytes = MiB
    batch = min(settings.call_bytes // slice_bytes, settings.cache_bytes // 4 // slice_bytes)
    prompt, decoder = linked_pair(ld, settings.pool_bytes // 2, 26000)
    cache_desc = ld.CacheDesc(1, [batch, slice_bytes], ld.DataType.DT_UINT8)
    target = decoder.cache_manager.allocate_cache(cache_desc)
    tensor_array(target, 0, batch)[:] = 1
    baseline = _core.bench.MemcpyBench(cache_desc.size, cache_desc.size)
    sources: list[ld.Cache] = []

    def case(rep: int) -> dict[str, Callable[[], float | None]]:
        for source in sources:  # the pulls released its keys; this releases its cache_id
            prompt.cache_manager.deallocate_cache(source)
        keys = [ld.CacheKey(1, rep * batch + i) for i in range(batch)]
        sources[:] = [prompt.cache_manager.allocate_cache(cache_desc, keys)]
        tensor_array(sources[0], 0, batch)[:] = 2
        order = rng.permutation(batch).tolist()

        def pulls() -> None:
            for position, i in enumerate(order):
                decoder.cache_manager.pull_cache(keys[i], target, batch_index=position)

        return {
            "core": pulls,
            "memcpy": lambda: baseline.copy_blocks(slice_bytes, order, list(range(batch)), 1),
        }

    try:
        times = interleaved(case, settings.repeat)
    finally:
        decoder.finalize()
        prompt.finalize()
    seconds, memcpy, ratio = times["core"], times["memcpy"], times.ratio("memcpy", "core")
    nbytes = batch * slice_bytes
    return [
        Row(f"pull_cache 1 MiB slice x {batch} keys", gbps(nbytes, seconds), gbps(nbytes, memcpy),
            ratio, "-", None)
    ]  # fmt: skip
