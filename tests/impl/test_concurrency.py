"""Several Python threads allocating, copying, swapping, pulling and releasing at once: no
corruption, no deadlock (every thread must finish within a join timeout)."""

from __future__ import annotations

import threading
import time

import numpy as np
from impl_support import Engines, link, pool_cfg, tensor_view

import llm_datadist_ref as ld
from llm_datadist_ref import testing

JOIN_TIMEOUT_S = 60
ROUNDS = 25


def run_threads(workers: list[threading.Thread]) -> None:
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(JOIN_TIMEOUT_S)
        assert not worker.is_alive(), "a worker thread did not finish: deadlock?"


def test_threads_allocate_copy_and_release(engines: Engines) -> None:
    prompt = engines.make(device_pool=pool_cfg(64 * 2**20), host_pool=pool_cfg(32 * 2**20))
    decoder = engines.make(ld.LLMRole.DECODER, device_pool=pool_cfg(32 * 2**20))
    link(decoder, prompt)
    cm = prompt.cache_manager
    errors: list[BaseException] = []
    cid = prompt.cluster_id

    def worker(index: int) -> None:
        rng = np.random.default_rng(index)
        try:
            for round_ in range(ROUNDS):
                # 2 tensors x 4 x 64 KiB: copies above the GIL-release threshold
                cache_desc = ld.CacheDesc(2, [4, 32768], ld.DataType.DT_FLOAT16)
                req = 1000 * index + round_
                src = cm.allocate_cache(cache_desc, [ld.CacheKey(cid, req)])
                dst = cm.allocate_cache(cache_desc)
                data = [rng.integers(0, 256, cache_desc.size, dtype=np.uint8) for _ in range(2)]
                for t in range(2):
                    tensor_view(src, t)[:] = data[t]
                cm.copy_cache(dst, src, 3, 0)
                for t in range(2):
                    assert np.array_equal(tensor_view(dst, t)[3 * 65536 :], data[t][:65536])

                blocks = cm.allocate_blocks_cache(
                    ld.CacheDesc(1, [16, 16384], ld.DataType.DT_INT32)
                )
                tensor_view(blocks, 0)[:] = rng.integers(
                    0, 256, blocks.cache_desc.size, dtype=np.uint8
                )
                expected = tensor_view(blocks, 0).copy()
                cm.copy_blocks(blocks, {1: [2, 3], 5: [0]})
                block = 65536
                for s, d in ((1, 2), (1, 3), (5, 0)):
                    expected[d * block : (d + 1) * block] = expected[s * block : (s + 1) * block]
                assert np.array_equal(tensor_view(blocks, 0), expected)

                host = [np.zeros(blocks.cache_desc.size, np.uint8)]
                cpu = ld.Cache.create_cpu_cache(
                    ld.CacheDesc(1, [16, 16384], ld.DataType.DT_INT32, ld.Placement.HOST), host
                )
                cm.swap_blocks(blocks, cpu, {i: 15 - i for i in range(16)})  # 1 MiB: on the workers
                for i in range(16):
                    assert np.array_equal(
                        host[0][(15 - i) * block : (16 - i) * block],
                        expected[i * block : (i + 1) * block],
                    )

                target = decoder.cache_manager.allocate_cache(
                    ld.CacheDesc(2, [1, 32768], ld.DataType.DT_FLOAT16)
                )
                decoder.cache_manager.pull_cache(ld.CacheKey(cid, req), target)
                assert np.array_equal(tensor_view(target, 1), data[1][:65536])
                decoder.cache_manager.deallocate_cache(target)

                cm.deallocate_cache(src)  # the pull released its key: freed now
                cm.deallocate_cache(dst)
                cm.deallocate_blocks_cache(blocks)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    run_threads([threading.Thread(target=worker, args=(i,)) for i in range(4)])
    assert not errors, errors
    assert testing.live_cache_ids(prompt) == []
    usage = testing.pool_usage(prompt, ld.Placement.DEVICE)
    assert usage is not None
    assert usage.used_pages == 0


def test_release_racing_with_copies_never_crashes(engines: Engines) -> None:
    """A copy that pinned a cache keeps its memory valid while another thread releases it."""
    cm = engines.make(device_pool=pool_cfg(64 * 2**20)).cache_manager
    cache_desc = ld.CacheDesc(1, [2, 2**20], ld.DataType.DT_UINT8)  # 1 MiB slices
    stop = threading.Event()
    outcomes: list[str] = []
    caches: list[ld.Cache] = []
    lock = threading.Lock()

    def allocator() -> None:
        for _ in range(200):
            cache = cm.allocate_cache(cache_desc)
            with lock:
                caches.append(cache)
            if len(caches) > 4:
                with lock:
                    victim = caches.pop(0)
                cm.deallocate_cache(victim)
            time.sleep(0.001)  # let the copiers run between releases
        stop.set()

    def copier() -> None:
        while not stop.is_set():
            with lock:
                pair = list(caches[-2:])
            if len(pair) < 2:
                continue
            try:
                cm.copy_cache(pair[0], pair[1], 0, 1)
                outcomes.append("ok")
            except ld.LLMException as error:
                outcomes.append(str(error.status_code))

    run_threads(
        [
            threading.Thread(target=allocator),
            threading.Thread(target=copier),
            threading.Thread(target=copier),
        ]
    )
    assert outcomes
    assert set(outcomes) <= {"ok", str(ld.LLMStatusCode.LLM_KV_CACHE_NOT_EXIST)}, set(outcomes)
