"""Benchmarks of llm_datadist_ref against baselines measured in the same run.

    python benchmarks/run.py            # full run: 1 GiB pools, cold random block order
    python benchmarks/run.py --smoke    # a few MiB, to check that the script works

Each throughput is the median of --repeat runs after a warm-up, and each ratio is the median of
per-repetition ratios to a baseline run back to back with it, because identical runs on a shared
2-core machine differ by up to 1.5x (see notes/performance.md). Baselines:

* C++ memcpy of the same bytes in the same order, between prefaulted regions owned by
  `_core.bench.MemcpyBench`, on 1 thread (the stated targets) and on 2 (for reference: the core
  splits independent copies of 8 MiB or more across the cores, and swap-out runs on 4 workers);
* a numpy implementation of the same operation over the same cache memory;
* a trivial pybind11 call (`_core.bench.noop`).

Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

import llm_datadist_ref as ld
from llm_datadist_ref import _core

MiB = 2**20
KiB = 2**10


@dataclass
class Row:
    name: str
    value: str
    baseline: str
    ratio: float
    target: str
    passed: bool | None  # None: informational, no target

    def render(self) -> str:
        verdict = "" if self.passed is None else ("PASS" if self.passed else "MISS")
        return (
            f"{self.name:<44} {self.value:>14} {self.baseline:>14} "
            f"{self.ratio:>7.2f}x {self.target:>14} {verdict}"
        )


@dataclass
class Settings:
    pool_bytes: int
    cache_bytes: int
    call_bytes: int
    repeat: int
    pair_calls: int


class Timings:
    """Seconds per repetition of each named run."""

    def __init__(self, samples: dict[str, list[float]]) -> None:
        self.samples = samples

    def __getitem__(self, name: str) -> float:
        return statistics.median(self.samples[name])

    def ratio(self, baseline: str, candidate: str) -> float:
        """Median over repetitions of baseline time / candidate time (> 1: candidate faster).

        Pairing the two runs of each repetition cancels the load other processes put on a
        shared machine, which shifts both alike."""
        pairs = zip(self.samples[baseline], self.samples[candidate], strict=True)
        return statistics.median(b / c for b, c in pairs)


def interleaved(
    make_case: Callable[[int], dict[str, Callable[[], float | None]]], repeat: int
) -> Timings:
    """Times each named run of each repetition. Every repetition builds a fresh case (new random
    blocks, so no run finds the previous one's data in cache) and runs all of its candidates back
    to back, rotating their order so that none always goes first. Repetition 0 is a warm-up. A
    run returns its own time, or None to be timed here."""
    samples: dict[str, list[float]] = {}
    for rep in range(repeat + 1):
        runs = list(make_case(rep).items())
        shift = rep % len(runs)
        for name, run in runs[shift:] + runs[:shift]:
            start = time.perf_counter()
            measured = run()
            elapsed = measured if measured is not None else time.perf_counter() - start
            if rep > 0:
                samples.setdefault(name, []).append(elapsed)
    return Timings(samples)


def gbps(nbytes: int, seconds: float) -> str:
    return f"{nbytes / seconds / 1e9:.2f} GB/s"


def tensor_array(cache: ld.Cache, index: int, rows: int) -> np.ndarray:
    size = cache.cache_desc.size
    buffer = (ctypes.c_uint8 * size).from_address(cache.tensor_addrs[index])
    return np.ctypeslib.as_array(buffer).reshape(rows, size // rows)


@contextmanager
def engine(settings: Settings, **pools: str) -> Iterator[ld.CacheManager]:
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True, sync_kv_timeout=600_000)
    config.mem_pool_cfg = json.dumps({"memory_size": settings.pool_bytes, "page_shift": 16})
    for name, value in pools.items():
        setattr(config, name, value)
    datadist = ld.LLMDataDist(ld.LLMRole.PROMPT, 1)
    datadist.init(config.generate_options())
    try:
        yield datadist.cache_manager
    finally:
        datadist.finalize()


def aligned_host_array(nbytes: int, fill: int, alignment: int = 2 * MiB) -> np.ndarray:
    """Host memory as a framework would hand it over (page-aligned, like a pinned torch tensor).
    A plain numpy array starts 16 bytes past a page, and misaligned destinations alone make
    memcpy up to 2x slower, which would measure numpy's allocator rather than swap_blocks."""
    raw = np.empty(nbytes + alignment, np.uint8)
    start = -raw.ctypes.data % alignment
    array = raw[start : start + nbytes]
    array[:] = fill
    return array


def random_pairs(rng: np.random.Generator, blocks: int, count: int) -> tuple[list[int], list[int]]:
    """`count` distinct source blocks and `count` distinct destination blocks, disjoint, random order."""
    order = rng.permutation(blocks)
    return order[:count].tolist(), order[count : 2 * count].tolist()


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
            in_ratio, "-", None),
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
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True, sync_kv_timeout=600_000)
    config.mem_pool_cfg = json.dumps({"memory_size": settings.pool_bytes // 2})
    config.listen_ip_info = "127.0.0.1:26000"
    prompt = ld.LLMDataDist(ld.LLMRole.PROMPT, 1)
    prompt.init(config.generate_options())
    decoder = ld.LLMDataDist(ld.LLMRole.DECODER, 2)
    decoder_config = ld.LLMConfig(device_id=0, enable_cache_manager=True, sync_kv_timeout=600_000)
    decoder_config.mem_pool_cfg = json.dumps({"memory_size": settings.pool_bytes // 2})
    decoder.init(decoder_config.generate_options())
    cluster = ld.LLMClusterInfo()
    cluster.remote_cluster_id = 1
    cluster.append_remote_ip_info("127.0.0.1", 26000)
    decoder.link_clusters([cluster])
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


def bench_allocate_pair(settings: Settings) -> list[Row]:
    calls = settings.pair_calls
    with engine(settings) as cm:
        cache_desc = ld.CacheDesc(2, [1, 4096], ld.DataType.DT_FLOAT16)

        def pair() -> None:
            cm.deallocate_cache(cm.allocate_cache(cache_desc))

        core_engine = cm._engine
        assert core_engine is not None

        def core_pair() -> None:
            cache_id, _ = core_engine.allocate(1, 2, 8192, 1, False, (), None)
            core_engine.deallocate(cache_id, False)

        def best(statement: Callable[[], object]) -> float:
            return min(timeit.repeat(statement, number=calls, repeat=settings.repeat)) / calls

        api = best(pair)
        core = best(core_pair)
        noop = best(_core.bench.noop)
        shaped = best(lambda: _core.bench.noop_like_allocate(1, 2, 8192, 1, False, (), None))

    def ns(seconds: float) -> str:
        return f"{seconds * 1e9:.0f} ns"

    return [
        Row(
            "allocate+deallocate pair (API)",
            ns(api),
            ns(noop),
            api / noop,
            "<= 4.00x",
            api / noop <= 4,
        ),
        Row("  same pair, _core.Engine directly", ns(core), ns(noop), core / noop, "-", None),
        Row("  API pair vs an allocate-shaped no-op", ns(api), ns(shaped), api / shaped, "-", None),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes: check that the script runs"
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed runs per figure (default 7)"
    )
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    args = parser.parse_args(argv)
    if args.smoke:
        settings = Settings(64 * MiB, 16 * MiB, 4 * MiB, args.repeat or 1, 1000)
    else:
        settings = Settings(1024 * MiB, 768 * MiB, 128 * MiB, args.repeat or 11, 20000)
    rng = np.random.default_rng(args.seed)
    print(
        f"llm_datadist_ref benchmarks: pool {settings.pool_bytes // MiB} MiB, cache "
        f"{settings.cache_bytes // MiB} MiB, {settings.call_bytes // MiB} MiB per call, "
        f"{settings.repeat} paired repetitions"
    )
    header = f"{'benchmark':<44} {'measured':>14} {'baseline':>14} {'ratio':>8} {'target':>14}"
    print(header)
    print("-" * len(header))
    rows: list[Row] = []
    for bench in (
        lambda: bench_copy_blocks(settings, rng),
        lambda: bench_copy_cache(settings, rng),
        lambda: bench_swap_blocks(settings, rng),
        lambda: bench_pull_cache(settings, rng),
        lambda: bench_allocate_pair(settings),
    ):
        for row in bench():
            rows.append(row)
            print(row.render(), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([row.__dict__ for row in rows], out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
