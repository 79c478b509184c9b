"""Disaggregation in one process: link_clusters, pull_cache, pull_blocks, push_cache."""

from __future__ import annotations

import numpy as np
import pytest
from impl_support import Engines, assert_status, desc, fill, link, pool_cfg, snapshot, tensor_view

import llm_datadist_ref as ld
from llm_datadist_ref import testing

S = ld.LLMStatusCode


def test_link_by_cluster_id_and_listen_address(engines: Engines) -> None:
    prompt = engines.make(ld.LLMRole.PROMPT)
    decoder = engines.make(ld.LLMRole.DECODER)
    wrong_port = ld.LLMClusterInfo()
    wrong_port.remote_cluster_id = prompt.cluster_id
    wrong_port.append_remote_ip_info("127.0.0.1", 1)
    unknown = ld.LLMClusterInfo()
    unknown.remote_cluster_id = 987654321
    status, per_cluster = decoder.link_clusters([wrong_port, unknown])
    assert status == S.LLM_LINK_FAILED
    assert per_cluster == [S.LLM_LINK_FAILED, S.LLM_LINK_FAILED]
    by_id = ld.LLMClusterInfo()
    by_id.remote_cluster_id = prompt.cluster_id
    assert decoder.link_clusters((by_id,)) == (S.LLM_SUCCESS, [S.LLM_SUCCESS])
    assert decoder.unlink_clusters([by_id]) == (S.LLM_SUCCESS, [S.LLM_SUCCESS])
    assert decoder.unlink_clusters([by_id]) == (S.LLM_UNLINK_FAILED, [S.LLM_NOT_YET_LINK])


def test_link_argument_checks(engines: Engines) -> None:
    decoder = engines.make(ld.LLMRole.DECODER)
    with pytest.raises(TypeError):
        decoder.link_clusters([object()])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        decoder.link_clusters([ld.LLMClusterInfo()])  # remote_cluster_id never set
    with pytest.raises(ld.LLMException):
        decoder.link_clusters([], timeout=0)
    with pytest.raises(RuntimeError):
        ld.LLMDataDist(ld.LLMRole.DECODER, 1).link_clusters([])


def test_pull_without_link_fails_with_not_yet_link(engines: Engines) -> None:
    prompt = engines.make(ld.LLMRole.PROMPT)
    decoder = engines.make(ld.LLMRole.DECODER)
    prompt.cache_manager.allocate_cache(desc(batch=1), [ld.CacheKey(prompt.cluster_id, 1)])
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.pull_cache(ld.CacheKey(prompt.cluster_id, 1), target)
    assert_status(info.value, S.LLM_NOT_YET_LINK)
    link(decoder, prompt)
    decoder.cache_manager.pull_cache(ld.CacheKey(prompt.cluster_id, 1), target)
    prompt.finalize()
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.pull_cache(ld.CacheKey(prompt.cluster_id, 1), target)
    assert_status(info.value, S.LLM_NOT_YET_LINK)


def test_pull_cache_by_key_copies_and_releases(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    cache = prompt.cache_manager.allocate_cache(
        desc(batch=2), [ld.CacheKey(cid, 1), ld.CacheKey(cid, 2)]
    )
    data = fill(cache, 1)
    target = decoder.cache_manager.allocate_cache(desc(batch=3))
    before = snapshot(target)
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 2), target, batch_index=1)
    stride = 2048
    for t in range(2):
        expected = before[t].copy()
        expected[stride : 2 * stride] = data[t][stride:]
        assert np.array_equal(tensor_view(target, t), expected)
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.pull_cache(ld.CacheKey(cid, 2), target)
    assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)


def test_pull_cache_size_and_bounds(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    cache = prompt.cache_manager.allocate_cache(desc(batch=1), [ld.CacheKey(cid, 1)])
    data = fill(cache, 2)
    target = decoder.cache_manager.allocate_cache(desc(batch=2))
    before = snapshot(target)
    for kwargs in ({"batch_index": 2}, {"size": 4096}, {"size": 0}):
        with pytest.raises((ValueError, ld.LLMException)):
            decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target, **kwargs)
    assert testing.bound_key_count(prompt) == 1  # failed pulls consume nothing
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target, 0, 100)
    expected = before[0].copy()
    expected[:100] = data[0][:100]
    assert np.array_equal(tensor_view(target, 0), expected)


def test_pull_cache_by_id_and_index(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    cache = prompt.cache_manager.allocate_cache(desc(batch=2), [ld.CacheKey(cid, 1)])
    data = fill(cache, 3)
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    decoder.cache_manager.pull_cache(ld.CacheKeyByIdAndIndex(cid, cache.cache_id, 1), target)
    assert np.array_equal(tensor_view(target, 1), data[1][2048:])
    assert testing.bound_key_count(prompt) == 1  # index 1 had no key
    decoder.cache_manager.pull_cache(ld.CacheKeyByIdAndIndex(cid, cache.cache_id, 0), target)
    assert testing.bound_key_count(prompt) == 0  # index 0's key went with the pull
    for bad in (
        ld.CacheKeyByIdAndIndex(cid, cache.cache_id, 2),
        ld.CacheKeyByIdAndIndex(cid, 999, 0),
    ):
        with pytest.raises(ld.LLMException) as info:
            decoder.cache_manager.pull_cache(bad, target)
        assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)


def test_pull_cache_layer_ranges_release_the_key_when_every_tensor_is_pulled(
    engines: Engines,
) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    layers = ld.CacheDesc(4, [1, 256], ld.DataType.DT_FLOAT16)  # 2 layers of (k, v)
    cache = prompt.cache_manager.allocate_cache(layers, [ld.CacheKey(cid, 1)])
    data = fill(cache, 4)
    target = decoder.cache_manager.allocate_cache(ld.CacheDesc(2, [1, 256], ld.DataType.DT_FLOAT16))
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target, src_layer_range=range(1, 2))
    assert np.array_equal(tensor_view(target, 0), data[2])
    assert np.array_equal(tensor_view(target, 1), data[3])
    assert testing.bound_key_count(prompt) == 1
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target, src_layer_range=range(0, 1))
    assert testing.bound_key_count(prompt) == 0
    with pytest.raises(ld.LLMException):
        decoder.cache_manager.pull_cache(
            ld.CacheKey(cid, 1), target, src_layer_range=range(0, 1, 2)
        )


def test_pull_cache_argument_checks(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    target = decoder.cache_manager.allocate_cache(desc(batch=1))
    blocks = decoder.cache_manager.allocate_blocks_cache(desc(batch=4))
    cm = decoder.cache_manager
    for args, error in (
        ((ld.BlocksCacheKey(cid), target), TypeError),
        (("key", target), TypeError),
        ((ld.CacheKey(cid, 1), None), TypeError),
        ((ld.CacheKey(cid, 1), target, -1), ValueError),
        ((ld.CacheKey(cid, 1), target, 0, 1.5), TypeError),
        ((ld.CacheKey(cid, 1), blocks), ld.LLMException),
    ):
        with pytest.raises(error):
            cm.pull_cache(*args)
    with pytest.raises(ld.LLMException) as info:
        cm.pull_cache(ld.CacheKey(cid, 1, prefix_id=3), target)  # both ids valid
    assert_status(info.value, S.LLM_PARAM_INVALID)
    with pytest.raises(ValueError, match="tensor_num_per_layer"):
        cm.pull_cache(ld.CacheKey(cid, 1), target, tensor_num_per_layer=0)


def test_pull_blocks_by_blocks_key(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    source = prompt.cache_manager.allocate_blocks_cache(
        desc(batch=8, width=128), ld.BlocksCacheKey(cid, 1)
    )
    data = fill(source, 5)
    target = decoder.cache_manager.allocate_blocks_cache(desc(batch=4, width=128))
    before = snapshot(target)
    decoder.cache_manager.pull_blocks(ld.BlocksCacheKey(cid, 1), target, [7, 0], [1, 3])
    block = 256
    for t in range(2):
        expected = before[t].copy()
        expected[block : 2 * block] = data[t][7 * block :]
        expected[3 * block :] = data[t][:block]
        assert np.array_equal(tensor_view(target, t), expected)
    for src_blocks, dst_blocks in (([8], [0]), ([0], [4]), ([], [0]), ([0, 1], [0])):
        with pytest.raises((ValueError, ld.LLMException)):
            decoder.cache_manager.pull_blocks(
                ld.BlocksCacheKey(cid, 1), target, src_blocks, dst_blocks
            )
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.pull_blocks(ld.BlocksCacheKey(cid, 9), target, [0], [0])
    assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)


def test_the_common_pulls_to_a_linked_engine_take_the_quick_path(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pull_cache and pull_blocks with every argument as the checks would pass it go to the
    linked engine in one core call (the front end finds the peer without raising): the checked
    path, which does the same copy more slowly, is never entered."""

    def checked(*args: object) -> None:
        raise AssertionError(f"the checked path was entered for a common pull: {args[1:]}")

    monkeypatch.setattr(ld.CacheManager, "_pull_cache_checked", checked)
    monkeypatch.setattr(ld.CacheManager, "_pull_blocks_checked", checked)
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    cache = prompt.cache_manager.allocate_cache(desc(batch=2), [ld.CacheKey(cid, 1)])
    data = fill(cache, 3)
    target = decoder.cache_manager.allocate_cache(desc(batch=2))
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target, 1)
    for t in range(2):
        assert np.array_equal(tensor_view(target, t)[2048:], data[t][:2048]), (
            f"quick pull_cache(CacheKey 1) into batch 1, tensor {t}: the PROMPT's batch 0"
        )
    assert testing.bound_key_count(prompt) == 0, "the quick pull released the key"
    source = prompt.cache_manager.allocate_blocks_cache(
        desc(batch=4, width=128), ld.BlocksCacheKey(cid, 2)
    )
    blocks = fill(source, 4)
    local = decoder.cache_manager.allocate_blocks_cache(desc(batch=4, width=128))
    decoder.cache_manager.pull_blocks(ld.BlocksCacheKey(cid, 2), local, [3], [0])
    for t in range(2):
        assert np.array_equal(tensor_view(local, t)[:256], blocks[t][3 * 256 :]), (
            f"quick pull_blocks([3] -> [0]), tensor {t}: the PROMPT's block 3"
        )


def test_pull_blocks_with_block_lists_of_another_type_raises_type_error(engines: Engines) -> None:
    """Lists that are not list or tuple (one whose truth value raises, too) are refused with
    TypeError before anything else is read of them, fast path or not."""
    prompt, decoder = engines.linked_pair()
    key = ld.BlocksCacheKey(prompt.cluster_id, 1)
    prompt.cache_manager.allocate_blocks_cache(desc(batch=4, width=128), key)
    target = decoder.cache_manager.allocate_blocks_cache(desc(batch=4, width=128))
    before = snapshot(target)
    for src_blocks, dst_blocks in ((np.array([0, 1]), [0, 1]), ([0, 1], np.array([0, 1]))):
        with pytest.raises(TypeError, match="only support"):
            decoder.cache_manager.pull_blocks(key, target, src_blocks, dst_blocks)  # type: ignore[arg-type]
    assert all(np.array_equal(tensor_view(target, t), before[t]) for t in range(2))


def test_pull_blocks_of_a_keyed_slice_fills_blocks_in_order(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    cid = prompt.cluster_id
    cache = prompt.cache_manager.allocate_cache(desc(batch=1, width=512), [ld.CacheKey(cid, 1)])
    data = fill(cache, 6)
    target = decoder.cache_manager.allocate_blocks_cache(desc(batch=8, width=128))
    decoder.cache_manager.pull_blocks(ld.CacheKey(cid, 1), target, (), [5, 1, 2, 0])
    block = 256
    for i, b in enumerate([5, 1, 2, 0]):
        assert np.array_equal(
            tensor_view(target, 0)[b * block : (b + 1) * block],
            data[0][i * block : (i + 1) * block],
        )
    assert testing.bound_key_count(prompt) == 1  # pull_blocks keeps the key
    with pytest.raises(ValueError, match="src_blocks should be empty"):
        decoder.cache_manager.pull_blocks(ld.CacheKey(cid, 1), target, [1], [0, 1, 2, 3])


def test_push_cache(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair(remote_cache_accessible=True)
    cid = prompt.cluster_id
    remote = prompt.cache_manager.allocate_cache(
        desc(batch=2), [ld.CacheKey(cid, 1), ld.CacheKey(cid, 2)]
    )
    before = snapshot(remote)
    source = decoder.cache_manager.allocate_cache(desc(batch=1))
    data = fill(source, 7)
    decoder.cache_manager.push_cache(ld.CacheKeyByIdAndIndex(cid, remote.cache_id, 1), source)
    for t in range(2):
        expected = before[t].copy()
        expected[2048:] = data[t]
        assert np.array_equal(tensor_view(remote, t), expected)
    assert testing.bound_key_count(prompt) == 1
    with pytest.raises(ValueError, match="size"):
        decoder.cache_manager.push_cache(
            ld.CacheKeyByIdAndIndex(cid, remote.cache_id, 0), source, size=10
        )
    with pytest.raises(TypeError):
        decoder.cache_manager.push_cache(ld.CacheKey(cid, 1), source)  # type: ignore[arg-type]
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.push_cache(ld.CacheKeyByIdAndIndex(cid, remote.cache_id, 2), source)
    assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)
    with pytest.raises(TypeError):  # remote-accessible mode pulls by id only
        decoder.cache_manager.pull_cache(ld.CacheKey(cid, 2), source)


def test_push_cache_needs_remote_cache_accessible(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    source = decoder.cache_manager.allocate_cache(desc(batch=1))
    with pytest.raises(ld.LLMException) as info:
        decoder.cache_manager.push_cache(ld.CacheKeyByIdAndIndex(prompt.cluster_id, 1, 0), source)
    assert_status(info.value, S.LLM_PARAM_INVALID)


def test_push_cache_layer_ranges(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair(remote_cache_accessible=True)
    cid = prompt.cluster_id
    layers = ld.CacheDesc(4, [1, 64], ld.DataType.DT_FLOAT)
    remote = prompt.cache_manager.allocate_cache(layers, [ld.CacheKey(cid, 1)])
    source = decoder.cache_manager.allocate_cache(layers)
    data = fill(source, 8)
    key = ld.CacheKeyByIdAndIndex(cid, remote.cache_id, 0)
    decoder.cache_manager.push_cache(
        key, source, src_layer_range=range(0, 1), dst_layer_range=range(1, 2)
    )
    assert np.array_equal(tensor_view(remote, 2), data[0])
    assert np.array_equal(tensor_view(remote, 3), data[1])
    assert testing.bound_key_count(prompt) == 1  # tensors 0 and 1 of the remote not written yet
    decoder.cache_manager.push_cache(
        key, source, src_layer_range=range(1, 2), dst_layer_range=range(0, 1)
    )
    assert testing.bound_key_count(prompt) == 0


def test_several_decoders_pull_from_one_prompt(engines: Engines) -> None:
    prompt = engines.make(ld.LLMRole.PROMPT)
    decoders = [engines.make(ld.LLMRole.DECODER) for _ in range(3)]
    cid = prompt.cluster_id
    cache = prompt.cache_manager.allocate_cache(
        desc(batch=3), [ld.CacheKey(cid, i) for i in range(3)]
    )
    data = fill(cache, 9)
    prompt.cache_manager.deallocate_cache(cache)
    for i, decoder in enumerate(decoders):
        link(decoder, prompt)
        target = decoder.cache_manager.allocate_cache(desc(batch=1))
        decoder.cache_manager.pull_cache(ld.CacheKey(cid, i), target)
        assert np.array_equal(tensor_view(target, 0), data[0][i * 2048 : (i + 1) * 2048])
    assert testing.live_cache_ids(prompt) == []


def test_large_pull_on_several_workers(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair(device_pool=pool_cfg(64 * 2**20))
    cid = prompt.cluster_id
    big = ld.CacheDesc(4, [1, 2**21 + 3], ld.DataType.DT_UINT8)
    cache = prompt.cache_manager.allocate_cache(big, [ld.CacheKey(cid, 1)])
    data = fill(cache, 31)
    target = decoder.cache_manager.allocate_cache(big)
    decoder.cache_manager.pull_cache(ld.CacheKey(cid, 1), target)
    assert all(np.array_equal(tensor_view(target, t), data[t]) for t in range(4))
