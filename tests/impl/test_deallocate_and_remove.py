"""deallocate_cache and remove_cache_key."""

from __future__ import annotations

import pytest
from impl_support import Engines, assert_status, desc

import llm_datadist_ref as ld
from llm_datadist_ref import testing

S = ld.LLMStatusCode


def used(datadist: ld.LLMDataDist) -> int:
    usage = testing.pool_usage(datadist, ld.Placement.DEVICE)
    assert usage is not None
    return usage.used_pages


@pytest.mark.clause("deallocate_cache.releases")
def test_deallocate_returns_the_memory(engines: Engines) -> None:
    prompt = engines.make()
    cache = prompt.cache_manager.allocate_cache(desc())
    prompt.cache_manager.deallocate_cache(cache)
    assert used(prompt) == 0
    assert testing.live_cache_ids(prompt) == []
    assert cache.tensor_addrs == []


@pytest.mark.clause("deallocate_cache.deferred_until_keys_released")
def test_release_waits_for_every_key(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    cm = prompt.cache_manager
    cache = cm.allocate_cache(desc(batch=2), [ld.CacheKey(cid, 1), ld.CacheKey(cid, 2)])
    cm.deallocate_cache(cache)
    assert testing.live_cache_ids(prompt) == [cache.cache_id]
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target)  # by the decoder's pull
    assert testing.live_cache_ids(prompt) == [cache.cache_id]
    cm.remove_cache_key(ld.CacheKey(cid, 2))  # by the prompt's remove
    assert testing.live_cache_ids(prompt) == []
    assert used(prompt) == 0


@pytest.mark.clause("deallocate_cache.absent_noop")
def test_deallocate_twice_is_a_noop(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cache = cm.allocate_cache(desc(), [ld.CacheKey(1, 1)])
    cm.deallocate_cache(cache)
    cm.deallocate_cache(cache)
    assert testing.live_cache_ids(prompt) == [cache.cache_id]  # the key still holds it
    cm.remove_cache_key(ld.CacheKey(1, 1))
    cm.deallocate_cache(cache)
    assert testing.live_cache_ids(prompt) == []


@pytest.mark.clause("deallocate_cache.absent_noop")
def test_deallocate_of_a_cache_never_allocated_here_is_a_noop(engines: Engines) -> None:
    one = engines.make().cache_manager
    other = engines.make()
    mine = other.cache_manager.allocate_cache(desc())
    stranger = one.allocate_cache(desc())
    other.cache_manager.deallocate_cache(stranger)  # same cache_id, other engine: untouched
    assert testing.live_cache_ids(other) == [mine.cache_id]
    fake = ld.Cache(12345, desc(), [], None, False, False)
    other.cache_manager.deallocate_cache(fake)


@pytest.mark.clause("deallocate_cache.raises.wrong_type")
@pytest.mark.parametrize("value", [None, 1, "cache", desc(), ld.CacheKey(1, 1)])
def test_deallocate_wrong_type(cm: ld.CacheManager, value: object) -> None:
    with pytest.raises(TypeError):
        cm.deallocate_cache(value)  # type: ignore[arg-type]


@pytest.mark.clause("deallocate_cache.raises.wrong_type")
def test_deallocate_cache_rejects_a_blocks_cache(cm: ld.CacheManager) -> None:
    blocks = cm.allocate_blocks_cache(desc(batch=4))
    with pytest.raises(ld.LLMException) as info:
        cm.deallocate_cache(blocks)
    assert_status(info.value, S.LLM_PARAM_INVALID)


@pytest.mark.clause("remove_cache_key.releases_key")
def test_remove_releases_only_that_key(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cm.allocate_cache(desc(batch=2), [ld.CacheKey(1, 1), ld.CacheKey(1, 2)])
    cm.remove_cache_key(ld.CacheKey(1, 1))
    assert testing.bound_key_count(prompt) == 1


@pytest.mark.clause("remove_cache_key.releases_key")
def test_key_identity_is_req_id_and_model_id(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cm.allocate_cache(desc(batch=2), [ld.CacheKey(1, 1, 0), ld.CacheKey(1, 1, 1)])
    cm.remove_cache_key(ld.CacheKey(99, 1, 1))  # cluster_id is not part of the identity
    assert testing.bound_key_count(prompt) == 1
    cm.remove_cache_key(ld.CacheKey(1, 1, 0))
    assert testing.bound_key_count(prompt) == 0


@pytest.mark.clause("remove_cache_key.not_pullable_after")
def test_removed_key_cannot_be_pulled(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    prompt.cache_manager.allocate_cache(desc(batch=1), [ld.CacheKey(cid, 4)])
    prompt.cache_manager.remove_cache_key(ld.CacheKey(cid, 4))
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.pull_cache(ld.CacheKey(cid, 4), target)
    assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)


@pytest.mark.clause("remove_cache_key.absent_noop")
def test_remove_absent_or_removed_key_is_a_noop(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cm.remove_cache_key(ld.CacheKey(1, 77))
    cm.allocate_cache(desc(batch=1), [ld.CacheKey(1, 5)])
    cm.remove_cache_key(ld.CacheKey(1, 5))
    cm.remove_cache_key(ld.CacheKey(1, 5))
    cm.remove_cache_key(ld.CacheKey(1, 2**64 - 1))  # a placeholder is never bound
    assert testing.bound_key_count(prompt) == 0


@pytest.mark.clause("remove_cache_key.raises.wrong_type")
@pytest.mark.parametrize(
    "value", [None, 5, "key", ld.CacheKeyByIdAndIndex(1, 1), ld.BlocksCacheKey(1), (1, 2)]
)
def test_remove_wrong_type(cm: ld.CacheManager, value: object) -> None:
    with pytest.raises(TypeError):
        cm.remove_cache_key(value)  # type: ignore[arg-type]
