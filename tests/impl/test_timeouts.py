"""sync_kv_timeout: a CacheManager operation that runs longer raises LLM_TIMEOUT and changes nothing."""

from __future__ import annotations

import numpy as np
import pytest
from impl_support import Engines, assert_status, desc, fill, snapshot, tensor_view

import llm_datadist_ref as ld
from llm_datadist_ref import testing

S = ld.LLMStatusCode
TIMEOUT_MS = 20
DELAY_MS = 60


def used(datadist: ld.LLMDataDist) -> int:
    usage = testing.pool_usage(datadist, ld.Placement.DEVICE)
    assert usage is not None
    return usage.used_pages


@pytest.fixture
def slow(engines: Engines) -> ld.LLMDataDist:
    return engines.make(sync_kv_timeout=TIMEOUT_MS)


def expect_timeout(operation: str, call: object) -> None:
    assert callable(call)
    with testing.delay(operation, DELAY_MS), pytest.raises(ld.LLMException) as info:
        call()
    assert_status(info.value, S.LLM_TIMEOUT)


@pytest.mark.clause("allocate_cache.raises.timeout")
def test_allocate_cache_timeout_keeps_no_allocation(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    expect_timeout("allocate_cache", lambda: cm.allocate_cache(desc(), [ld.CacheKey(1, 1)]))
    assert used(slow) == 0
    assert testing.bound_key_count(slow) == 0
    cm.allocate_cache(desc(), [ld.CacheKey(1, 1)])  # the key was not consumed


@pytest.mark.clause("deallocate_cache.raises.timeout")
def test_deallocate_cache_timeout_keeps_the_cache(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    cache = cm.allocate_cache(desc())
    expect_timeout("deallocate_cache", lambda: cm.deallocate_cache(cache))
    assert testing.live_cache_ids(slow) == [cache.cache_id]
    assert cache.tensor_addrs  # still usable
    cm.deallocate_cache(cache)
    assert used(slow) == 0


@pytest.mark.clause("remove_cache_key.raises.timeout")
def test_remove_cache_key_timeout_keeps_the_key(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    cm.allocate_cache(desc(), [ld.CacheKey(1, 1)])
    expect_timeout("remove_cache_key", lambda: cm.remove_cache_key(ld.CacheKey(1, 1)))
    assert testing.bound_key_count(slow) == 1


@pytest.mark.clause("copy_cache.raises.timeout")
def test_copy_cache_timeout_writes_nothing(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    src, dst = cm.allocate_cache(desc()), cm.allocate_cache(desc())
    fill(src, 1)
    before = snapshot(dst)
    expect_timeout("copy_cache", lambda: cm.copy_cache(dst, src))
    assert all(np.array_equal(tensor_view(dst, t), before[t]) for t in range(2))


@pytest.mark.clause("allocate_blocks_cache.raises.timeout")
def test_allocate_blocks_cache_timeout(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    expect_timeout(
        "allocate_blocks_cache", lambda: cm.allocate_blocks_cache(desc(), ld.BlocksCacheKey(1, 2))
    )
    assert used(slow) == 0
    cm.allocate_blocks_cache(desc(), ld.BlocksCacheKey(1, 2))


@pytest.mark.clause("deallocate_blocks_cache.raises.timeout")
def test_deallocate_blocks_cache_timeout(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    cache = cm.allocate_blocks_cache(desc())
    expect_timeout("deallocate_blocks_cache", lambda: cm.deallocate_blocks_cache(cache))
    assert testing.live_cache_ids(slow) == [cache.cache_id]


@pytest.mark.clause("copy_blocks.raises.timeout")
def test_copy_blocks_timeout_writes_nothing(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    cache = cm.allocate_blocks_cache(desc(batch=4))
    before = fill(cache, 2)
    expect_timeout("copy_blocks", lambda: cm.copy_blocks(cache, {0: [1, 2, 3]}))
    assert all(np.array_equal(tensor_view(cache, t), before[t]) for t in range(2))


def test_swap_blocks_timeout_writes_nothing(slow: ld.LLMDataDist) -> None:
    cm = slow.cache_manager
    device = cm.allocate_blocks_cache(desc(batch=4))
    before = fill(device, 3)
    host_desc = ld.CacheDesc(2, [4, 1024], ld.DataType.DT_FLOAT16, ld.Placement.HOST)
    arrays = [np.ones(host_desc.size, np.uint8) for _ in range(2)]
    host = ld.Cache.create_cpu_cache(host_desc, list(arrays))
    expect_timeout("swap_blocks", lambda: cm.swap_blocks(host, device, {0: 1}))
    assert all(np.array_equal(tensor_view(device, t), before[t]) for t in range(2))


def test_pull_cache_timeout_consumes_no_key(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair(sync_kv_timeout=TIMEOUT_MS)
    cid = prompt.cluster_id
    prompt.cache_manager.allocate_cache(desc(batch=1), [ld.CacheKey(cid, 1)])
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    before = snapshot(target)
    expect_timeout(
        "pull_cache", lambda: decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target)
    )
    assert testing.bound_key_count(prompt) == 1
    assert all(np.array_equal(tensor_view(target, t), before[t]) for t in range(2))
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target)


def test_default_timeout_is_generous_and_delay_restores(engines: Engines) -> None:
    cm = engines.make().cache_manager  # default 1000 ms
    with testing.delay("allocate_cache", 30):
        cm.allocate_cache(desc())
        with testing.delay("allocate_cache", 0):
            pass
    with (
        pytest.raises(ValueError, match="unknown operation"),
        testing.delay("no_such_operation", 1),
    ):
        pass
    with pytest.raises(ValueError, match="ms must be"), testing.delay("allocate_cache", -5):
        pass
