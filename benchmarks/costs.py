"""Fixed costs per call: copy_blocks in a small and a large cache, 64 KiB pulls against memcpy of
the same bytes, and the allocate+deallocate pair against zero-work binding calls and against the
pure-Python second implementation."""

from __future__ import annotations

import dataclasses
import json
import timeit
from collections.abc import Callable
from typing import Any

import numpy as np
from common import KiB, MiB, Row, Settings, engine, gbps, interleaved, linked_pair, tensor_array
from keys import alt_module

import llm_datadist_ref as ld
from llm_datadist_ref import _core


def _per_call(statement: Callable[[], object], calls: int) -> float:
    """Seconds per call of `calls` back-to-back calls."""
    return timeit.timeit(statement, number=calls) / calls


def bench_copy_blocks_fixed_cost(settings: Settings) -> list[Row]:
    """A one-pair copy_blocks must not cost more because the cache has more blocks."""
    block, small, large = 512, 1024, 131072
    calls = settings.pair_calls
    with engine(dataclasses.replace(settings, pool_bytes=(small + large) * block + MiB)) as cm:
        caches = {
            n: cm.allocate_blocks_cache(ld.CacheDesc(1, [n, block], ld.DataType.DT_UINT8))
            for n in (small, large)
        }
        info = {3: [7]}

        def case(rep: int) -> dict[str, Callable[[], float | None]]:
            return {
                str(n): lambda c=cache: _per_call(lambda: cm.copy_blocks(c, info), calls)
                for n, cache in caches.items()
            }

        times = interleaved(case, settings.repeat)
    growth = times.ratio(str(large), str(small))  # the large cache's time over the small one's
    return [
        Row(f"copy_blocks one pair, {large} vs {small} blocks", f"{times[str(large)] * 1e9:.0f} ns",
            f"{times[str(small)] * 1e9:.0f} ns", growth, "<= 1.20x", growth <= 1.2)
    ]  # fmt: skip


def _pull_case(
    settings: Settings,
    rng: np.random.Generator,
    pair: tuple[Any, Any],
    blocks: bool,
    slice_bytes: int,
) -> tuple[Callable[[int], dict[str, Callable[[], float | None]]], int]:
    """Pulls of one `slice_bytes` batch (or block) per call, in random order, and a memcpy of the
    same slices in the same order between regions of the same size."""
    prompt, decoder = pair
    count = settings.call_bytes // slice_bytes
    desc = ld.CacheDesc(1, [count, slice_bytes], ld.DataType.DT_UINT8)
    pulls = decoder.cache_manager
    if blocks:
        target = pulls.allocate_blocks_cache(desc)
        source = prompt.cache_manager.allocate_blocks_cache(desc, ld.BlocksCacheKey(1, 0))
        tensor_array(source, 0, count)[:] = 2
    else:
        target = pulls.allocate_cache(desc)
    tensor_array(target, 0, count)[:] = 1
    baseline = _core.bench.MemcpyBench(desc.size, desc.size)
    sources: list[ld.Cache] = []

    def case(rep: int) -> dict[str, Callable[[], float | None]]:
        order = rng.permutation(count).tolist()
        dst = rng.permutation(count).tolist()
        if blocks:
            key = ld.BlocksCacheKey(1, 0)

            def run() -> None:
                for s, d in zip(order, dst, strict=True):
                    pulls.pull_blocks(key, target, [s], [d])

        else:
            for old in sources:  # the pulls released its keys; this releases its cache_id
                prompt.cache_manager.deallocate_cache(old)
            keys = [ld.CacheKey(1, rep * count + i) for i in range(count)]
            sources[:] = [prompt.cache_manager.allocate_cache(desc, keys)]
            tensor_array(sources[0], 0, count)[:] = 2

            def run() -> None:
                for s, d in zip(order, dst, strict=True):
                    pulls.pull_cache(keys[s], target, batch_index=d)

        return {"core": run, "memcpy": lambda: baseline.copy_blocks(slice_bytes, order, dst, 1)}

    return case, count


#: The transport option of llm_datadist_ref: engines that link only within this process keep
#: private pools (transparent huge pages); a listening engine's default pool is shared memory,
#: mappable by a DECODER process, in 4 KiB pages unless the host enables huge pages for shmem.
IN_PROCESS = {"llm_datadist_ref.transport": "in-process"}


def bench_pull_fixed_cost(settings: Settings, rng: np.random.Generator) -> list[Row]:
    slice_bytes = 64 * KiB
    rows = []
    cases = ((False, 26020, IN_PROCESS), (True, 26021, IN_PROCESS), (False, 26022, None))
    for blocks, port, extra in cases:
        prompt, decoder = linked_pair(ld, settings.pool_bytes // 2, port, extra)
        try:
            case, count = _pull_case(settings, rng, (prompt, decoder), blocks, slice_bytes)
            times = interleaved(case, settings.repeat)
        finally:
            decoder.finalize()
            prompt.finalize()
        nbytes = count * slice_bytes
        ratio = times.ratio("memcpy", "core")
        name = "pull_blocks" if blocks else "pull_cache"
        if extra is None:  # the same pulls from a PROMPT whose pool a DECODER process could map
            rows.append(
                Row(f"  {name} 64 KiB, PROMPT pool in shared memory", gbps(nbytes, times["core"]),
                    gbps(nbytes, times["memcpy"]), ratio, "-", None)
            )  # fmt: skip
            continue
        rows.append(
            Row(f"{name} 64 KiB per call x {count} vs memcpy", gbps(nbytes, times["core"]),
                gbps(nbytes, times["memcpy"]), ratio, ">= 0.85x", ratio >= 0.85)
        )  # fmt: skip
    return rows


def _alt_pair(pool_bytes: int) -> tuple[Callable[[], None], Callable[[], None]]:
    """The pair on the pure-Python second implementation, and its cleanup."""
    alt = alt_module()
    config = alt.LLMConfig()
    config.device_id = 0
    config.enable_cache_manager = True
    config.mem_pool_cfg = json.dumps({"memory_size": pool_bytes})
    datadist = alt.LLMDataDist(alt.LLMRole.PROMPT, 1)
    datadist.init(config.generate_options())
    cm, desc = datadist.cache_manager, alt.CacheDesc(2, [1, 4096], alt.DataType.DT_FLOAT16)

    def pair() -> None:
        cm.deallocate_cache(cm.allocate_cache(desc))

    return pair, datadist.finalize


def bench_allocate_pair(settings: Settings) -> list[Row]:
    calls = settings.pair_calls
    alt_pair, alt_close = _alt_pair(64 * MiB)
    with engine(settings) as cm:
        cache_desc = ld.CacheDesc(2, [1, 4096], ld.DataType.DT_FLOAT16)
        core_engine = cm._engine
        assert core_engine is not None
        bench = _core.bench

        def pair() -> None:
            cm.deallocate_cache(cm.allocate_cache(cache_desc))

        def core_pair() -> None:
            cache_id, _ = core_engine.allocate(1, 2, 8192, 1, False, (), None)
            core_engine.deallocate(cache_id, False)

        def shaped_pair() -> None:
            cache_id, _ = bench.noop_like_allocate(1, 2, 8192, 1, False, (), None)
            bench.noop_like_deallocate(cache_id, False)

        geometry = cache_desc._allocation_geometry()

        def handle_shaped_pair() -> None:  # what the API's hot path calls, with no work done
            bench.noop_like_allocate_cache(core_engine, geometry, cache_desc, cm)
            bench.noop_like_deallocate(1, False)

        statements = {"api": pair, "core": core_pair, "shaped": shaped_pair, "alt": alt_pair}
        statements["handle_shaped"] = handle_shaped_pair
        statements["noop"] = bench.noop

        def case(rep: int) -> dict[str, Callable[[], float | None]]:
            return {n: lambda s=s: _per_call(s, calls) for n, s in statements.items()}

        try:
            times = interleaved(case, settings.repeat)
        finally:
            alt_close()

    def ns(name: str) -> str:
        return f"{times[name] * 1e9:.0f} ns"

    vs_shaped = 1 / times.ratio("shaped", "api")  # the API pair's time over the no-op pair's
    vs_alt = times.ratio("alt", "api")
    return [
        Row("allocate+deallocate pair vs no-op pair", ns("api"), ns("shaped"), vs_shaped,
            "<= 2.50x", vs_shaped <= 2.5),
        Row("  same pair vs pure-Python alt", ns("api"), ns("alt"), vs_alt, ">= 10.00x",
            vs_alt >= 10),
        Row("  same pair, _core.Engine directly", ns("core"), ns("shaped"),
            1 / times.ratio("shaped", "core"), "-", None),
        Row("  API pair vs no-op of Engine.allocate_cache", ns("api"), ns("handle_shaped"),
            1 / times.ratio("handle_shaped", "api"), "-", None),
        Row("  API pair vs an argument-less no-op", ns("api"), ns("noop"),
            1 / times.ratio("noop", "api"), "-", None),
    ]  # fmt: skip
