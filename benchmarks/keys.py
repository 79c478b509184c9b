"""Keys: what allocate_cache, remove_cache_key and the pulls cost per key as a cache holds more
keys (K = 16 ... 16384), against K = 16 and against the pure-Python second implementation
(tests/suite/alt_impl) doing the same through the same public API."""

from __future__ import annotations

import gc
import importlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import Row, linked_pair

import llm_datadist_ref

ALT_DIR = Path(__file__).resolve().parents[1] / "tests" / "suite" / "alt_impl"
OPERATIONS = ("allocate_cache", "remove_cache_key", "pull_cache by key", "pull_cache by id")
SLICE_BYTES = 64


def alt_module() -> Any:
    """The second implementation, imported from the checkout (it is not installed)."""
    if str(ALT_DIR) not in sys.path:
        sys.path.insert(0, str(ALT_DIR))
    return importlib.import_module("llm_datadist_alt")


def _timed(action: Callable[[], object]) -> float:
    """Seconds `action` takes with the cyclic garbage collector off, as timeit runs: a collection
    scans every live object, so with 16384 keys alive it would bill the core for Python's heap."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        action()
        return time.perf_counter() - start
    finally:
        gc.enable()


class KeyWorkload:
    """One PROMPT/DECODER pair of an implementation, and fresh keys for every measurement."""

    def __init__(self, module: Any, port: int) -> None:
        self.m = module
        self.prompt, self.decoder = linked_pair(module, 64 * 2**20, port)
        self.target = self.decoder.cache_manager.allocate_cache(self._desc(1))
        self.next_req_id = 0

    def close(self) -> None:
        self.decoder.finalize()
        self.prompt.finalize()

    def _desc(self, batch: int) -> Any:
        return self.m.CacheDesc(1, [batch, SLICE_BYTES], self.m.DataType.DT_UINT8)

    def _keys(self, count: int) -> list[Any]:
        first, self.next_req_id = self.next_req_id, self.next_req_id + count
        return [self.m.CacheKey(1, first + i) for i in range(count)]

    def seconds_per_key(self, count: int) -> dict[str, float]:
        """Per-key seconds of each operation on a cache of `count` keys."""
        cm, pulls = self.prompt.cache_manager, self.decoder.cache_manager
        desc, keys = self._desc(count), self._keys(count)
        seconds = {"allocate_cache": _timed(lambda: cm.allocate_cache(desc, keys))}
        seconds["remove_cache_key"] = _timed(lambda: [cm.remove_cache_key(k) for k in keys])
        keys = self._keys(count)
        cache = cm.allocate_cache(desc, keys)
        seconds["pull_cache by key"] = _timed(
            lambda: [pulls.pull_cache(k, self.target, 0) for k in keys]
        )
        cm.deallocate_cache(cache)  # its keys were released by the pulls: the cache goes
        keys = self._keys(count)
        cache = cm.allocate_cache(desc, keys)
        by_id = [self.m.CacheKeyByIdAndIndex(1, cache.cache_id, i) for i in range(count)]
        by_id.reverse()  # the last index first: a scan from the front would find it last
        seconds["pull_cache by id"] = _timed(
            lambda: [pulls.pull_cache(k, self.target, 0) for k in by_id]
        )
        for key in keys:
            cm.remove_cache_key(key)
        cm.deallocate_cache(cache)
        return {name: value / count for name, value in seconds.items()}


def _measure(counts: tuple[int, ...], repeat: int) -> dict[str, dict[tuple[str, int], list[float]]]:
    """Per implementation, per (operation, K): per-key seconds of each repetition. Both
    implementations run every K in each repetition, back to back (repetition 0 is a warm-up)."""
    loads = {
        "ref": KeyWorkload(llm_datadist_ref, 26010),
        "alt": KeyWorkload(alt_module(), 26011),
    }
    samples: dict[str, dict[tuple[str, int], list[float]]] = {name: {} for name in loads}
    try:
        for rep in range(repeat + 1):
            for count in counts:
                for name, load in loads.items():
                    for operation, value in load.seconds_per_key(count).items():
                        if rep > 0:
                            samples[name].setdefault((operation, count), []).append(value)
    finally:
        for load in loads.values():
            load.close()
    return samples


def bench_keys(repeat: int, counts: tuple[int, ...]) -> list[Row]:
    samples = _measure(counts, repeat)
    ref, alt = samples["ref"], samples["alt"]
    base = counts[0]
    rows = []
    for operation in OPERATIONS:

        def paired(a: list[float], b: list[float]) -> float:
            return statistics.median(x / y for x, y in zip(a, b, strict=True))

        growth = {k: paired(ref[operation, k], ref[operation, base]) for k in counts[1:]}
        worst_k = max(growth, key=growth.__getitem__)
        speedup = {k: paired(alt[operation, k], ref[operation, k]) for k in counts}
        slowest_k = min(speedup, key=speedup.__getitem__)

        def ns(samples_: list[float]) -> str:
            return f"{statistics.median(samples_) * 1e9:.0f} ns/key"

        rows.append(
            Row(f"{operation} per key, worst K={worst_k} vs K={base}",
                ns(ref[operation, worst_k]), ns(ref[operation, base]), growth[worst_k],
                "<= 1.50x", growth[worst_k] <= 1.5)
        )  # fmt: skip
        rows.append(
            Row(f"  same, vs pure-Python alt, worst K={slowest_k}",
                ns(ref[operation, slowest_k]), ns(alt[operation, slowest_k]),
                speedup[slowest_k], "> 1.00x", speedup[slowest_k] > 1)
        )  # fmt: skip
    return rows
