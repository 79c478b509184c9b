"""What every benchmark shares: result rows, paired interleaved timing, engines and memory."""

from __future__ import annotations

import ctypes
import json
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

import llm_datadist_ref as ld

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
            f"{self.name:<48} {self.value:>14} {self.baseline:>14} "
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
    config = ld.LLMConfig()
    config.device_id = 0
    config.enable_cache_manager = True
    config.sync_kv_timeout = 600_000
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


def linked_pair(
    module: Any, pool_bytes: int, port: int, extra: dict[str, str] | None = None
) -> tuple[Any, Any]:
    """A PROMPT (cluster 1, listening on 127.0.0.1:`port`) and a DECODER (cluster 2) linked to it,
    made through `module`'s public API only, so the same code drives either implementation;
    `extra` options (an implementation's own) go to both engines' init."""

    def make(role: Any, cluster_id: int, listen: str | None) -> Any:
        config = module.LLMConfig()
        config.device_id = 0
        config.enable_cache_manager = True
        config.sync_kv_timeout = 600_000
        config.mem_pool_cfg = json.dumps({"memory_size": pool_bytes, "page_shift": 16})
        if listen is not None:
            config.listen_ip_info = listen
        datadist = module.LLMDataDist(role, cluster_id)
        datadist.init({**config.generate_options(), **(extra or {})})
        return datadist

    prompt = make(module.LLMRole.PROMPT, 1, f"127.0.0.1:{port}")
    decoder = make(module.LLMRole.DECODER, 2, None)
    cluster = module.LLMClusterInfo()
    cluster.remote_cluster_id = 1
    cluster.append_remote_ip_info("127.0.0.1", port)
    decoder.link_clusters([cluster])
    return prompt, decoder
