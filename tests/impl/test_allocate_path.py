"""allocate_cache's hot path (issue 14): the handle the core builds, reused registry entries, and
deadlines that read no clock until an operation may take long."""

from __future__ import annotations

import threading
import time

import pytest
from impl_support import Engines, assert_status, desc, pool_cfg

import llm_datadist_ref as ld
from llm_datadist_ref import _core, testing

S = ld.LLMStatusCode


def slots(cache: ld.Cache) -> dict[str, object]:
    return {name: getattr(cache, name) for name in ld.Cache.__slots__ if name != "_tensor_addrs"}


def test_the_core_built_handle_matches_the_checked_path(engines: Engines) -> None:
    cm = engines.make().cache_manager
    cache_desc = desc()
    fast = cm.allocate_cache(cache_desc)  # no keys: the core builds the handle
    checked = cm.allocate_cache(cache_desc, [ld.CacheKey(1, 1)])  # keys: built in Python
    assert type(fast) is ld.Cache
    assert slots(fast) == {**slots(checked), "_cache_id": fast.cache_id}
    assert fast.cache_desc is cache_desc
    assert fast._geometry is cache_desc._geometry
    assert [type(a) for a in fast.tensor_addrs] == [int, int]
    assert fast.cache_id == checked.cache_id - 1


@pytest.mark.parametrize("change", ["missing", "extra"])
def test_the_core_refuses_a_handle_class_whose_slots_it_does_not_set(
    engines: Engines, change: str
) -> None:
    names = list(ld.Cache.__slots__)
    names = names[:-1] if change == "missing" else [*names, "_extra"]
    other = type("Other", (), {"__slots__": tuple(names)})
    with pytest.raises(TypeError, match="slot"):
        _core.set_cache_class(other)
    assert type(engines.make().cache_manager.allocate_cache(desc())) is ld.Cache  # still registered


def test_a_desc_changed_by_update_dim_is_honoured(engines: Engines) -> None:
    cm = engines.make().cache_manager
    cache_desc = desc(batch=2, width=1024)
    first = cm.allocate_cache(cache_desc)
    cache_desc.update_dim(0, 4)
    second = cm.allocate_cache(cache_desc)
    assert first._layout()[2:] == (2 * 1024 * 2, 2)
    assert second._layout()[2:] == (4 * 1024 * 2, 4)


@pytest.mark.parametrize("call", ["allocate_cache", "allocate_cache with keys", "blocks"])
def test_a_shape_list_edited_in_place_is_honoured(engines: Engines, call: str) -> None:
    """The desc keeps the caller's shape object (as the vendor does, whose allocate reads the
    shape at each call): an edit in place after one allocate changes the next one's size."""
    cm = engines.make().cache_manager
    shape = [2, 1024]
    cache_desc = ld.CacheDesc(2, shape, ld.DataType.DT_FLOAT16)

    def allocate() -> ld.Cache:
        if call == "blocks":
            return cm.allocate_blocks_cache(cache_desc)
        keys = [ld.CacheKey(1, len(shape) + shape[0])] if call.endswith("keys") else []
        return cm.allocate_cache(cache_desc, keys) if keys else cm.allocate_cache(cache_desc)

    first = allocate()
    shape[0], shape[1] = 4, 2048
    second = allocate()
    assert first._layout()[2:] == (2 * 1024 * 2, 2), f"{call}: the first cache keeps its layout"
    assert second._layout()[2:] == (4 * 2048 * 2, 4), (
        f"{call} after shape[:] = [4, 2048] in place: expected tensors of 16384 B in 4 slices, "
        f"got {second._layout()[2:]}"
    )


PAGE = 65536


def used_pages(datadist: ld.LLMDataDist) -> int:
    usage = testing.pool_usage(datadist, ld.Placement.DEVICE)
    assert usage is not None
    return usage.used_pages


def test_the_tensors_of_a_cache_lie_back_to_back_in_one_run(engines: Engines) -> None:
    prompt = engines.make(device_pool=pool_cfg(16 * PAGE, 16))
    cm = prompt.cache_manager
    cache = cm.allocate_cache(ld.CacheDesc(3, [1, PAGE + 1], ld.DataType.DT_UINT8))  # 2 pages each
    first = cache.tensor_addrs[0]
    assert cache.tensor_addrs == [first, first + 2 * PAGE, first + 4 * PAGE]
    usage = testing.pool_usage(prompt, ld.Placement.DEVICE)
    assert usage is not None
    assert (usage.used_pages, usage.live_allocations) == (6, 1)
    cm.deallocate_cache(cache)
    assert used_pages(prompt) == 0


def test_a_fragmented_pool_still_gives_a_run_per_tensor(engines: Engines) -> None:
    """No free run holds both tensors, but each fits a run of its own: no OUT_OF_MEMORY."""
    prompt = engines.make(device_pool=pool_cfg(4 * PAGE, 16))
    cm = prompt.cache_manager
    page = ld.CacheDesc(1, [1, PAGE], ld.DataType.DT_UINT8)
    singles = [cm.allocate_cache(page) for _ in range(4)]
    addresses = [cache.tensor_addrs[0] for cache in singles]
    cm.deallocate_cache(singles[0])
    cm.deallocate_cache(singles[2])  # free: two single pages, apart
    pair = cm.allocate_cache(ld.CacheDesc(2, [1, PAGE], ld.DataType.DT_UINT8))
    assert sorted(pair.tensor_addrs) == sorted([addresses[0], addresses[2]])
    assert used_pages(prompt) == 4
    cm.deallocate_cache(pair)
    assert used_pages(prompt) == 2
    for cache in (singles[1], singles[3]):
        cm.deallocate_cache(cache)
    assert used_pages(prompt) == 0
    cm.allocate_cache(ld.CacheDesc(4, [1, PAGE], ld.DataType.DT_UINT8))  # the pool coalesced


def test_a_reused_registry_entry_keeps_nothing_of_the_last_cache(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    keyed = cm.allocate_cache(desc(), [ld.CacheKey(1, 1), ld.CacheKey(1, 2)])
    cm.deallocate_cache(keyed)
    cm.remove_cache_key(ld.CacheKey(1, 1))
    cm.remove_cache_key(ld.CacheKey(1, 2))  # entry erased: its node is kept for the next cache
    plain = cm.allocate_cache(desc())
    assert testing.bound_key_count(prompt) == 0
    cm.remove_cache_key(ld.CacheKey(1, 1))  # a stale key would reach the new cache
    assert testing.live_cache_ids(prompt) == [plain.cache_id]
    cm.deallocate_cache(plain)  # no stale key reference keeps it
    assert testing.live_cache_ids(prompt) == []
    usage = testing.pool_usage(prompt, ld.Placement.DEVICE)
    assert usage is not None
    assert usage.used_pages == 0
    again = cm.allocate_cache(desc(), [ld.CacheKey(1, 1)])  # the key is free to bind again
    assert testing.live_cache_ids(prompt) == [again.cache_id]


@pytest.mark.parametrize("operation", ["allocate_cache", "deallocate_cache"])
def test_waiting_for_the_registry_counts_against_the_timeout(
    engines: Engines, operation: str
) -> None:
    """The quick operations read no clock unless they wait; a wait longer than sync_kv_timeout
    is a timeout, and the call changes nothing."""
    prompt = engines.make(sync_kv_timeout=20)
    cm = prompt.cache_manager
    cache = cm.allocate_cache(desc())
    engine = cm._engine
    assert engine is not None
    call = (
        (lambda: cm.allocate_cache(desc()))
        if operation == "allocate_cache"
        else (lambda: cm.deallocate_cache(cache))
    )
    holder = threading.Thread(target=_core.hold_registry_lock, args=(engine, 200))
    holder.start()
    time.sleep(0.05)  # the holder has the lock
    try:
        with pytest.raises(ld.LLMException) as info:
            call()
    finally:
        holder.join()
    assert_status(info.value, S.LLM_TIMEOUT)
    assert testing.live_cache_ids(prompt) == [cache.cache_id]
    cm.deallocate_cache(cache)
    assert testing.live_cache_ids(prompt) == []
