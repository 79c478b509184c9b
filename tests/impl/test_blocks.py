"""allocate_blocks_cache, deallocate_blocks_cache and copy_blocks."""

from __future__ import annotations

import numpy as np
import pytest
from impl_support import Engines, assert_status, desc, fill, pool_cfg, snapshot, tensor_view

import llm_datadist_ref as ld
from llm_datadist_ref import testing

S = ld.LLMStatusCode


def blocks_desc(blocks: int = 8, width: int = 128, num_tensors: int = 2) -> ld.CacheDesc:
    return ld.CacheDesc(num_tensors, [blocks, width], ld.DataType.DT_FLOAT16)


@pytest.mark.clause("allocate_blocks_cache.returns.cache")
def test_returns_a_blocks_cache(cm: ld.CacheManager) -> None:
    cache = cm.allocate_blocks_cache(blocks_desc(), ld.BlocksCacheKey(1, 0))
    assert isinstance(cache, ld.Cache)
    assert cache.is_blocks_cache
    assert len(cache.tensor_addrs) == 2


@pytest.mark.clause("allocate_blocks_cache.key.optional")
def test_key_is_optional(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cm.allocate_blocks_cache(blocks_desc())
    cm.allocate_blocks_cache(blocks_desc(), None)
    cm.allocate_blocks_cache(blocks_desc(), ld.BlocksCacheKey(1, 3))
    assert len(testing.live_cache_ids(prompt)) == 3


@pytest.mark.clause("allocate_blocks_cache.key.optional")
def test_a_bound_blocks_key_is_rejected_until_released(cm: ld.CacheManager) -> None:
    first = cm.allocate_blocks_cache(blocks_desc(), ld.BlocksCacheKey(1, 3))
    with pytest.raises(ld.LLMException) as info:
        cm.allocate_blocks_cache(blocks_desc(), ld.BlocksCacheKey(1, 3))
    assert_status(info.value, S.LLM_PARAM_INVALID)
    cm.deallocate_blocks_cache(first)
    cm.allocate_blocks_cache(blocks_desc(), ld.BlocksCacheKey(1, 3))


@pytest.mark.clause(
    "allocate_blocks_cache.released_by_deallocate_blocks_cache", "deallocate_blocks_cache.releases"
)
def test_deallocate_blocks_cache_frees_at_once(engines: Engines) -> None:
    prompt = engines.make()
    cm = prompt.cache_manager
    cache = cm.allocate_blocks_cache(blocks_desc(), ld.BlocksCacheKey(1, 0))
    usage = testing.pool_usage(prompt, ld.Placement.DEVICE)
    assert usage is not None
    assert usage.used_pages > 0
    cm.deallocate_blocks_cache(cache)
    usage = testing.pool_usage(prompt, ld.Placement.DEVICE)
    assert usage is not None
    assert usage.used_pages == 0
    assert cache.tensor_addrs == []


@pytest.mark.clause("deallocate_blocks_cache.absent_noop")
def test_deallocate_blocks_cache_twice_is_a_noop(cm: ld.CacheManager) -> None:
    cache = cm.allocate_blocks_cache(blocks_desc())
    cm.deallocate_blocks_cache(cache)
    cm.deallocate_blocks_cache(cache)
    cm.deallocate_blocks_cache(ld.Cache(999, blocks_desc(), [], None, False, True))


@pytest.mark.clause("deallocate_blocks_cache.raises.wrong_type")
@pytest.mark.parametrize("value", [None, 3, "blocks", blocks_desc()])
def test_deallocate_blocks_cache_wrong_type(cm: ld.CacheManager, value: object) -> None:
    with pytest.raises(TypeError):
        cm.deallocate_blocks_cache(value)  # type: ignore[arg-type]


@pytest.mark.clause("deallocate_blocks_cache.raises.wrong_type")
def test_deallocate_blocks_cache_rejects_a_plain_cache(cm: ld.CacheManager) -> None:
    with pytest.raises(ld.LLMException):
        cm.deallocate_blocks_cache(cm.allocate_cache(desc()))


@pytest.mark.clause("allocate_blocks_cache.raises.wrong_type")
@pytest.mark.parametrize(
    ("args", "error"),
    [
        ((None,), TypeError),
        (("desc",), TypeError),
        ((blocks_desc(), ld.CacheKey(1, 1)), TypeError),
        ((blocks_desc(), 5), TypeError),
        ((blocks_desc(), ld.BlocksCacheKey(1, -1)), ValueError),
        ((ld.CacheDesc(0, [4, 4], ld.DataType.DT_INT8),), ValueError),
        ((ld.CacheDesc(1, [0, 4], ld.DataType.DT_INT8),), ValueError),
        ((ld.CacheDesc(1, [4, -1], ld.DataType.DT_INT8),), (ValueError, ld.LLMException)),
    ],
)
def test_allocate_blocks_cache_wrong_types(
    cm: ld.CacheManager, args: tuple[object, ...], error: type
) -> None:
    with pytest.raises(error):
        cm.allocate_blocks_cache(*args)  # type: ignore[arg-type]


@pytest.mark.clause("allocate_blocks_cache.pool.required")
def test_allocate_blocks_cache_needs_the_pool(engines: Engines) -> None:
    cm = engines.make(device_pool="", host_pool="").cache_manager
    for placement in (ld.Placement.DEVICE, ld.Placement.HOST):
        cache_desc = ld.CacheDesc(1, [4, 64], ld.DataType.DT_INT8, placement)
        with pytest.raises(ld.LLMException) as info:
            cm.allocate_blocks_cache(cache_desc)
        assert_status(info.value, S.LLM_PARAM_INVALID)


@pytest.mark.clause("copy_blocks.copies")
def test_one_source_to_many_destinations_in_every_tensor(cm: ld.CacheManager) -> None:
    cache = cm.allocate_blocks_cache(blocks_desc(blocks=8, width=128))
    data = fill(cache, 5)
    block = 256
    cm.copy_blocks(cache, {1: [2, 3], 6: [0]})
    for t in range(2):
        expected = data[t].copy()
        expected[2 * block : 3 * block] = data[t][1 * block : 2 * block]
        expected[3 * block : 4 * block] = data[t][1 * block : 2 * block]
        expected[0:block] = data[t][6 * block : 7 * block]
        assert np.array_equal(tensor_view(cache, t), expected)


@pytest.mark.clause("copy_blocks.copies")
def test_block_size_follows_the_batch_dim(cm: ld.CacheManager) -> None:
    cache_desc = ld.CacheDesc(
        1, [2, 4, 16], ld.DataType.DT_INT8, batch_dim_index=1
    )  # 4 blocks of 32 B
    cache = cm.allocate_blocks_cache(cache_desc)
    data = fill(cache, 6)
    cm.copy_blocks(cache, {3: [0]})
    assert np.array_equal(tensor_view(cache, 0)[:32], data[0][96:128])
    with pytest.raises(ValueError, match="out of range"):
        cm.copy_blocks(cache, {4: [0]})


@pytest.mark.clause("copy_blocks.copies")
def test_empty_mapping_and_self_copy_change_nothing(cm: ld.CacheManager) -> None:
    cache = cm.allocate_blocks_cache(blocks_desc())
    data = fill(cache, 7)
    cm.copy_blocks(cache, {})
    cm.copy_blocks(cache, {2: [2]})
    assert all(np.array_equal(tensor_view(cache, t), data[t]) for t in range(2))


@pytest.mark.clause("copy_blocks.bounds")
@pytest.mark.parametrize(
    "info", [{8: [0]}, {0: [8]}, {-1: [0]}, {0: [1, -2]}, {0: [2**62]}, {2**70: [1]}]
)
def test_block_indices_out_of_range_are_rejected(
    cm: ld.CacheManager, info: dict[int, list[int]]
) -> None:
    cache = cm.allocate_blocks_cache(blocks_desc(blocks=8))
    before = snapshot(cache)
    with pytest.raises((ValueError, ld.LLMException)):
        cm.copy_blocks(cache, info)
    assert all(np.array_equal(tensor_view(cache, t), before[t]) for t in range(2))


@pytest.mark.clause("copy_blocks.bounds")
def test_nothing_is_written_when_a_later_entry_is_out_of_range(cm: ld.CacheManager) -> None:
    cache = cm.allocate_blocks_cache(blocks_desc(blocks=8))
    before = snapshot(cache)
    with pytest.raises(ValueError, match="out of range"):
        cm.copy_blocks(cache, {1: [2], 3: [99]})
    assert all(np.array_equal(tensor_view(cache, t), before[t]) for t in range(2))


@pytest.mark.clause("copy_blocks.raises.wrong_type")
@pytest.mark.parametrize(
    ("cache_arg", "info"),
    [
        (None, {1: [2]}),
        ("cache", {1: [2]}),
        ("blocks", None),
        ("blocks", [(1, 2)]),
        ("blocks", {"1": [2]}),
        ("blocks", {1.0: [2]}),
        ("blocks", {1: 2}),
        ("blocks", {1: (2,)}),
        ("blocks", {1: ["2"]}),
        ("blocks", {1: [None]}),
    ],
)
def test_copy_blocks_wrong_types(cm: ld.CacheManager, cache_arg: object, info: object) -> None:
    cache = cm.allocate_blocks_cache(blocks_desc())
    before = snapshot(cache)
    target = cache if cache_arg == "blocks" else cache_arg
    with pytest.raises(TypeError):
        cm.copy_blocks(target, info)  # type: ignore[arg-type]
    assert all(np.array_equal(tensor_view(cache, t), before[t]) for t in range(2))


@pytest.mark.clause("copy_blocks.raises.wrong_type")
def test_copy_blocks_rejects_a_plain_cache(cm: ld.CacheManager) -> None:
    with pytest.raises(ld.LLMException):
        cm.copy_blocks(cm.allocate_cache(desc()), {0: [1]})


@pytest.mark.clause("copy_blocks.copies")
def test_large_copies_split_across_workers_keep_their_meaning(engines: Engines) -> None:
    """Above 8 MiB the core may copy on several workers; results must equal one-by-one copies."""
    cm = engines.make(device_pool=pool_cfg(64 * 2**20)).cache_manager
    blocks, block = 64, 128 * 1024
    cache = cm.allocate_blocks_cache(ld.CacheDesc(2, [blocks, block], ld.DataType.DT_UINT8))
    data = fill(cache, 11)
    independent = {i: [blocks - 1 - i] for i in range(32)}
    cm.copy_blocks(cache, independent)
    for t in range(2):
        expected = data[t].copy()
        for src, (dst,) in independent.items():
            expected[dst * block : (dst + 1) * block] = data[t][src * block : (src + 1) * block]
        assert np.array_equal(tensor_view(cache, t), expected)
    data = fill(cache, 12)
    chain = {i: [i + 1] for i in range(blocks - 1)}  # each copy reads the previous one's result
    cm.copy_blocks(cache, chain)
    for t in range(2):
        view = tensor_view(cache, t).reshape(blocks, block)
        assert all(np.array_equal(view[i], data[t][:block]) for i in range(blocks))
