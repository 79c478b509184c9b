"""A Cache handle is checked once, when it is made, and then follows its cache: its layout cannot
be changed through the (mutable) CacheDesc, another engine cannot clear it, and it stops handing
out addresses once the memory behind it is gone (issue 13, items 1 and 5)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from impl_support import Engines, assert_status, fill, pool_cfg, snapshot, tensor_view

import llm_datadist_ref as ld

S = ld.LLMStatusCode
BLOCK = 4096
GUARD = 4 * BLOCK


def host_desc(blocks: int, width: int = BLOCK) -> ld.CacheDesc:
    return ld.CacheDesc(1, [blocks, width], ld.DataType.DT_UINT8, ld.Placement.HOST)


def guarded_array(nbytes: int) -> tuple[np.ndarray, np.ndarray]:
    """(array of nbytes, the zeroed guard bytes right after it in the same allocation)."""
    backing = np.zeros(nbytes + GUARD, dtype=np.uint8)
    return backing[:nbytes], backing[nbytes:]


def test_update_dim_after_create_cpu_cache_cannot_grow_it(engines: Engines) -> None:
    cm = engines.make().cache_manager
    device = cm.allocate_blocks_cache(ld.CacheDesc(1, [8, BLOCK], ld.DataType.DT_UINT8))
    fill(device, 1)
    desc = host_desc(2)
    array, guard = guarded_array(desc.size)
    cpu = ld.Cache.create_cpu_cache(desc, [array])
    desc.update_dim(0, 8)  # the desc now claims 8 blocks; the array holds 2
    with pytest.raises(ValueError, match="dst_block_index"):
        cm.swap_blocks(device, cpu, {0: 0, 7: 7})
    assert not guard.any(), (
        "swap_blocks after CacheDesc.update_dim wrote past the numpy array of a cpu cache "
        f"({np.count_nonzero(guard)} guard bytes changed); expected the layout fixed at creation"
    )
    cm.swap_blocks(device, cpu, {7: 1})  # the cache keeps its creation layout and still works
    assert np.array_equal(array[BLOCK:], tensor_view(device, 0)[7 * BLOCK :])


def test_update_dim_on_a_block_dim_changes_nothing_of_the_cache(engines: Engines) -> None:
    cm = engines.make().cache_manager
    device = cm.allocate_blocks_cache(ld.CacheDesc(1, [4, BLOCK], ld.DataType.DT_UINT8))
    fill(device, 2)
    desc = host_desc(4)
    array, guard = guarded_array(desc.size)
    cpu = ld.Cache.create_cpu_cache(desc, [array])
    desc.update_dim(1, 4 * BLOCK)  # blocks four times as large, on paper
    cm.swap_blocks(device, cpu, {3: 3})
    assert not guard.any(), "swap_blocks used the desc's new block size instead of the cache's"
    assert np.array_equal(array[3 * BLOCK :], tensor_view(device, 0)[3 * BLOCK :])


def test_update_dim_to_zero_after_allocation_does_not_break_swaps(engines: Engines) -> None:
    cm = engines.make().cache_manager
    device_desc = ld.CacheDesc(1, [4, BLOCK], ld.DataType.DT_UINT8)
    device = cm.allocate_blocks_cache(device_desc)
    host = cm.allocate_blocks_cache(host_desc(4))
    data = fill(device, 3)
    device_desc.update_dim(0, 0)  # today: ZeroDivisionError computing the block size
    cm.swap_blocks(device, host, {1: 2})
    assert np.array_equal(snapshot(host)[0][2 * BLOCK : 3 * BLOCK], data[0][BLOCK : 2 * BLOCK])


def test_create_cpu_cache_rejects_object_arrays() -> None:
    desc = host_desc(1, 64)
    objects = np.empty(desc.size // 8, dtype=object)  # as many bytes, all of them PyObject*
    with pytest.raises(TypeError, match="Python objects"):
        ld.Cache.create_cpu_cache(desc, [objects])
    record = np.zeros(desc.size // 16, dtype=[("a", "i8"), ("b", "O")])
    with pytest.raises(TypeError, match="Python objects"):
        ld.Cache.create_cpu_cache(desc, [record])


@pytest.mark.parametrize("shape", [[0, BLOCK], [2, 0], [-1, BLOCK], []])
def test_create_cpu_cache_validates_the_shape(shape: list[int]) -> None:
    desc = ld.CacheDesc(1, shape or [1], ld.DataType.DT_UINT8, ld.Placement.HOST)
    if not shape:
        desc.shape.clear()  # type: ignore[union-attr]  # a 0-dim shape, reached through the list
    buffer = np.zeros(BLOCK, dtype=np.uint8)
    with pytest.raises(ValueError, match="shape"):
        ld.Cache.create_cpu_cache(desc, [buffer])
    with pytest.raises(ValueError, match="shape"):
        ld.Cache.create_cpu_cache(desc, [buffer.ctypes.data])


def test_deallocating_another_engines_cache_leaves_its_handle(engines: Engines) -> None:
    owner = engines.make().cache_manager
    other = engines.make().cache_manager
    cache = owner.allocate_cache(ld.CacheDesc(1, [1, BLOCK], ld.DataType.DT_UINT8))
    blocks = owner.allocate_blocks_cache(ld.CacheDesc(1, [2, BLOCK], ld.DataType.DT_UINT8))
    addresses = (list(cache.tensor_addrs), list(blocks.tensor_addrs))
    other.deallocate_cache(cache)  # a no-op: not its cache
    other.deallocate_blocks_cache(blocks)
    assert (cache.tensor_addrs, blocks.tensor_addrs) == addresses, (
        "deallocate on a foreign CacheManager cleared the handle of a cache still live on its owner"
    )
    fill(cache, 4)
    owner.copy_cache(cache, cache)  # still the owner's, still usable
    owner.deallocate_cache(cache)
    assert cache.tensor_addrs == []


def test_finalize_clears_every_handle_it_handed_out(engines: Engines) -> None:
    datadist = engines.make()
    cm = datadist.cache_manager
    caches = [
        cm.allocate_cache(ld.CacheDesc(1, [1, BLOCK], ld.DataType.DT_UINT8)),
        cm.allocate_cache(
            ld.CacheDesc(2, [2, BLOCK], ld.DataType.DT_UINT8), [ld.CacheKey(1, req_id=3)]
        ),
        cm.allocate_blocks_cache(ld.CacheDesc(1, [2, BLOCK], ld.DataType.DT_UINT8)),
    ]
    datadist.finalize()
    for cache in caches:
        assert cache.tensor_addrs == [], (
            f"after LLMDataDist.finalize(), {cache} still hands out addresses into the unmapped pool"
        )


def test_a_stale_handle_cannot_reach_a_new_engines_cache(engines: Engines) -> None:
    options = ld.LLMConfig(
        device_id=0, enable_cache_manager=True, mem_pool_cfg=pool_cfg()
    ).generate_options()
    datadist = ld.LLMDataDist(ld.LLMRole.PROMPT, 4242)
    datadist.init(options)
    desc = ld.CacheDesc(1, [1, BLOCK], ld.DataType.DT_UINT8)
    stale = datadist.cache_manager.allocate_cache(desc)
    datadist.finalize()
    datadist.init(options)  # the new pool may well be mapped where the old one was
    try:
        fresh = datadist.cache_manager.allocate_cache(desc)
        tensor_view(fresh, 0)[:] = 7
        assert stale.tensor_addrs == []
        for address in stale.tensor_addrs:  # what a user loop over the handle would write
            ctypes.memset(address, 0, BLOCK)
        with pytest.raises(ld.LLMException) as caught:
            datadist.cache_manager.copy_cache(fresh, stale)
        assert_status(caught.value, S.LLM_KV_CACHE_NOT_EXIST)
        assert (tensor_view(fresh, 0) == 7).all(), "a stale handle wrote into a new engine's cache"
    finally:
        datadist.finalize()
