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
* zero-work pybind11 calls (`_core.bench.noop*`), with and without the arguments of the real ones;
* the same operation at another size (keys per cache, blocks per cache), for costs that must not
  grow with the cache;
* the pure-Python second implementation (tests/suite/alt_impl) through the same public API;
* a bare interpreter start, for the command line's start.

bandwidth.py, costs.py, keys.py and cli_start.py hold the benchmarks; common.py what they share.
Timings are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import numpy as np
from bandwidth import bench_copy_blocks, bench_copy_cache, bench_pull_cache, bench_swap_blocks
from cli_start import bench_cli_start
from common import MiB, Row, Settings
from costs import bench_allocate_pair, bench_copy_blocks_fixed_cost, bench_pull_fixed_cost
from keys import bench_keys


def benchmarks(
    settings: Settings, rng: np.random.Generator, smoke: bool
) -> list[Callable[[], list[Row]]]:
    key_counts = (16, 64, 256) if smoke else (16, 256, 4096, 16384)
    return [
        lambda: bench_copy_blocks(settings, rng),
        lambda: bench_copy_cache(settings, rng),
        lambda: bench_swap_blocks(settings, rng),
        lambda: bench_pull_cache(settings, rng),
        lambda: bench_pull_fixed_cost(settings, rng),
        lambda: bench_copy_blocks_fixed_cost(settings),
        lambda: bench_keys(max(1, settings.repeat // 2), key_counts),
        lambda: bench_allocate_pair(settings),
        lambda: bench_cli_start(max(3, settings.repeat)),
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
    header = f"{'benchmark':<48} {'measured':>14} {'baseline':>14} {'ratio':>8} {'target':>14}"
    print(header)
    print("-" * len(header))
    rows: list[Row] = []
    for bench in benchmarks(settings, rng, args.smoke):
        for row in bench():
            rows.append(row)
            print(row.render(), flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([row.__dict__ for row in rows], out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
