"""allocate_cache and the two kinds of references (cache_id, keys)."""

from __future__ import annotations

import pytest
from impl_support import POOL_BYTES, Engines, assert_status, desc, fill, pool_cfg, tensor_view

import llm_datadist_ref as ld
from llm_datadist_ref import testing

S = ld.LLMStatusCode
UINT64_MAX = 2**64 - 1


def device_used(datadist: ld.LLMDataDist) -> int:
    usage = testing.pool_usage(datadist, ld.Placement.DEVICE)
    assert usage is not None
    return usage.used_pages


@pytest.mark.clause("allocate_cache.returns.cache")
def test_returns_a_cache_with_one_address_per_tensor(cm: ld.CacheManager) -> None:
    cache_desc = desc(batch=2, num_tensors=3)
    cache = cm.allocate_cache(cache_desc, [ld.CacheKey(1, 1), ld.CacheKey(1, 2)])
    assert isinstance(cache, ld.Cache)
    assert cache.cache_desc is cache_desc
    assert len(cache.tensor_addrs) == 3
    assert len(set(cache.tensor_addrs)) == 3
    assert not cache.is_blocks_cache
    assert cache.cache_id >= 1


@pytest.mark.clause("allocate_cache.raises.wrong_type")
@pytest.mark.parametrize(
    "args",
    [
        (None,),
        ("desc",),
        (123,),
        (desc(), "keys"),
        (desc(), None),
        (desc(), [1, 2]),
        (desc(), (ld.CacheKeyByIdAndIndex(1, 1),)),
        (desc(), [ld.BlocksCacheKey(1)]),
        (desc(), {ld.CacheKey(1, 1)}),
    ],
)
def test_wrong_types_raise_type_error(cm: ld.CacheManager, args: tuple[object, ...]) -> None:
    with pytest.raises(TypeError):
        cm.allocate_cache(*args)  # type: ignore[arg-type]


@pytest.mark.clause("allocate_cache.raises.key_already_bound")
def test_key_bound_to_a_live_cache_is_rejected(cm: ld.CacheManager) -> None:
    cm.allocate_cache(desc(batch=1), [ld.CacheKey(1, 7)])
    with pytest.raises(ld.LLMException) as info:
        cm.allocate_cache(desc(batch=1), [ld.CacheKey(1, 7)])
    assert_status(info.value, S.LLM_PARAM_INVALID)


@pytest.mark.clause("allocate_cache.raises.key_already_bound")
def test_key_can_be_bound_again_once_released(cm: ld.CacheManager) -> None:
    cache = cm.allocate_cache(desc(batch=1), [ld.CacheKey(1, 7)])
    cm.remove_cache_key(ld.CacheKey(1, 7))
    cm.deallocate_cache(cache)
    cm.allocate_cache(desc(batch=1), [ld.CacheKey(1, 7)])


@pytest.mark.clause("allocate_cache.refs.held_by_id_and_keys")
def test_memory_stays_until_id_and_every_key_are_released(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cache = cm.allocate_cache(desc(batch=2), [ld.CacheKey(1, 1), ld.CacheKey(1, 2)])
    used = device_used(prompt)
    assert used > 0
    cm.deallocate_cache(cache)
    assert device_used(prompt) == used
    cm.remove_cache_key(ld.CacheKey(1, 1))
    assert device_used(prompt) == used
    cm.remove_cache_key(ld.CacheKey(1, 2))
    assert device_used(prompt) == 0
    assert testing.live_cache_ids(prompt) == []


@pytest.mark.clause("allocate_cache.refs.held_by_id_and_keys")
def test_releasing_keys_first_then_id_also_frees(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cache = cm.allocate_cache(desc(batch=1), [ld.CacheKey(1, 1)])
    cm.remove_cache_key(ld.CacheKey(1, 1))
    assert device_used(prompt) > 0  # the cache_id still holds it
    cm.deallocate_cache(cache)
    assert device_used(prompt) == 0


@pytest.mark.clause("allocate_cache.refs.id_released_by_deallocate")
def test_cache_without_keys_is_freed_by_deallocate(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cache = cm.allocate_cache(desc())
    assert device_used(prompt) > 0
    cm.deallocate_cache(cache)
    assert device_used(prompt) == 0
    assert cache.tensor_addrs == []


@pytest.mark.clause("allocate_cache.refs.key_released_by_remove")
def test_remove_cache_key_releases_the_key_reference(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cache = cm.allocate_cache(desc(batch=1), [ld.CacheKey(1, 3)])
    cm.deallocate_cache(cache)
    assert testing.bound_key_count(prompt) == 1
    cm.remove_cache_key(ld.CacheKey(1, 3))
    assert testing.bound_key_count(prompt) == 0
    assert device_used(prompt) == 0


@pytest.mark.clause("allocate_cache.refs.key_released_by_pull")
def test_successful_pull_releases_the_key(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cache = prompt.cache_manager.allocate_cache(desc(batch=1), [ld.CacheKey(prompt.cluster_id, 5)])
    prompt.cache_manager.deallocate_cache(cache)
    assert device_used(prompt) > 0
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    decoder.cache_manager.pull_cache(ld.CacheKey(prompt.cluster_id, 5), target)
    assert device_used(prompt) == 0
    assert testing.bound_key_count(prompt) == 0


@pytest.mark.clause("allocate_cache.refs.key_released_by_push")
def test_successful_push_releases_the_key_of_the_pushed_index(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair(remote_cache_accessible=True)
    cache = prompt.cache_manager.allocate_cache(
        desc(batch=2), [ld.CacheKey(prompt.cluster_id, 1), ld.CacheKey(prompt.cluster_id, 2)]
    )
    prompt.cache_manager.deallocate_cache(cache)
    source = decoder.cache_manager.allocate_cache(desc(batch=1))
    decoder.cache_manager.push_cache(
        ld.CacheKeyByIdAndIndex(prompt.cluster_id, cache.cache_id, 1), source
    )
    assert testing.bound_key_count(prompt) == 1  # the key of index 1 went, index 0's stays
    decoder.cache_manager.push_cache(
        ld.CacheKeyByIdAndIndex(prompt.cluster_id, cache.cache_id, 0), source
    )
    assert device_used(prompt) == 0


@pytest.mark.clause("allocate_cache.keys.count_within_batch")
def test_more_keys_than_the_batch_size_are_rejected(cm: ld.CacheManager) -> None:
    keys = [ld.CacheKey(1, i) for i in range(3)]
    with pytest.raises(ld.LLMException) as info:
        cm.allocate_cache(desc(batch=2), keys)
    assert_status(info.value, S.LLM_PARAM_INVALID)
    cm.allocate_cache(desc(batch=3), keys)  # exactly the batch size is fine


@pytest.mark.clause("allocate_cache.keys.count_within_batch")
def test_batch_size_comes_from_the_batch_dim(cm: ld.CacheManager) -> None:
    cache_desc = ld.CacheDesc(1, [1, 3, 64], ld.DataType.DT_INT8, batch_dim_index=1)
    cm.allocate_cache(cache_desc, [ld.CacheKey(1, i) for i in range(3)])


@pytest.mark.clause("allocate_cache.keys.placeholder")
def test_placeholder_holds_its_index_and_is_never_bound(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    keys = [ld.CacheKey(cid, 10), ld.CacheKey(cid, UINT64_MAX), ld.CacheKey(cid, 12)]
    cache = prompt.cache_manager.allocate_cache(desc(batch=3), keys)
    assert testing.bound_key_count(prompt) == 2
    data = fill(cache, 1)
    stride = cache.cache_desc.size // 3
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 12), target)
    assert (tensor_view(target, 0) == data[0][2 * stride : 3 * stride]).all()  # index 2, not 1
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.pull_cache(ld.CacheKey(cid, UINT64_MAX), target)
    assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)


@pytest.mark.clause("allocate_cache.keys.placeholder")
def test_several_placeholders_in_one_call(cm: ld.CacheManager) -> None:
    keys = [ld.CacheKey(1, UINT64_MAX), ld.CacheKey(1, UINT64_MAX), ld.CacheKey(1, 4)]
    cm.allocate_cache(desc(batch=3), keys)


@pytest.mark.clause("allocate_cache.keys.trailing_omitted")
def test_trailing_indices_may_go_without_keys(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    cache = prompt.cache_manager.allocate_cache(
        desc(batch=4), [ld.CacheKey(cid, 1), ld.CacheKey(cid, 2)]
    )
    assert testing.bound_key_count(prompt) == 2
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 2), target)
    # the omitted indices can still be addressed by id
    decoder.cache_manager.pull_cache(ld.CacheKeyByIdAndIndex(cid, cache.cache_id, 3), target)


@pytest.mark.clause("allocate_cache.keys.duplicate_last_wins")
def test_duplicate_key_binds_its_last_index(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    keys = [ld.CacheKey(cid, 9), ld.CacheKey(cid, 8), ld.CacheKey(cid, 9)]
    cache = prompt.cache_manager.allocate_cache(desc(batch=3), keys)
    assert testing.bound_key_count(prompt) == 2
    data = fill(cache, 2)
    stride = cache.cache_desc.size // 3
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 9), target)
    for t in range(2):
        assert (tensor_view(target, t) == data[t][2 * stride : 3 * stride]).all()


@pytest.mark.clause("allocate_cache.pool.required")
def test_device_allocation_needs_mem_pool_cfg(engines: Engines) -> None:
    cm = engines.make(device_pool="").cache_manager
    with pytest.raises(ld.LLMException) as info:
        cm.allocate_cache(desc(placement=ld.Placement.DEVICE))
    assert_status(info.value, S.LLM_PARAM_INVALID)
    cm.allocate_cache(desc(placement=ld.Placement.HOST))


@pytest.mark.clause("allocate_cache.pool.required")
def test_host_allocation_needs_host_mem_pool_cfg(engines: Engines) -> None:
    cm = engines.make(host_pool="").cache_manager
    with pytest.raises(ld.LLMException):
        cm.allocate_cache(desc(placement=ld.Placement.HOST))
    cm.allocate_cache(desc(placement=ld.Placement.DEVICE))


@pytest.mark.clause("allocate_cache.pool.capacity")
def test_exhausted_pool_raises_out_of_memory_and_keeps_live_caches(engines: Engines) -> None:
    prompt = engines.make(device_pool=pool_cfg(1 << 20, 16))  # 16 pages of 64 KiB
    cm = prompt.cache_manager
    big = ld.CacheDesc(1, [1, 12 * 65536], ld.DataType.DT_UINT8)
    kept = cm.allocate_cache(big, [ld.CacheKey(1, 1)])
    with pytest.raises(ld.LLMException) as info:
        cm.allocate_cache(ld.CacheDesc(2, [1, 3 * 65536], ld.DataType.DT_UINT8))  # 6 pages > 4 left
    assert_status(info.value, S.LLM_OUT_OF_MEMORY)
    assert testing.live_cache_ids(prompt) == [kept.cache_id]
    assert device_used(prompt) == 12  # the partial allocation was undone
    cm.allocate_cache(ld.CacheDesc(2, [1, 2 * 65536], ld.DataType.DT_UINT8))  # 4 pages fit


@pytest.mark.clause("allocate_cache.pool.capacity")
def test_pool_holds_exactly_its_memory_size(engines: Engines) -> None:
    prompt = engines.make(device_pool=pool_cfg(POOL_BYTES, 16))
    cm = prompt.cache_manager
    page = ld.CacheDesc(1, [1, 65536], ld.DataType.DT_UINT8)
    caches = [cm.allocate_cache(page) for _ in range(POOL_BYTES // 65536)]
    with pytest.raises(ld.LLMException):
        cm.allocate_cache(page)
    cm.deallocate_cache(caches[5])
    cm.allocate_cache(page)
