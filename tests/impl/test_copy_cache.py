"""copy_cache: batch slices, offset and size per tensor, matching descs, bounds."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from impl_support import Engines, assert_status, desc, fill, pool_cfg, snapshot, tensor_view

import llm_datadist_ref as ld

S = ld.LLMStatusCode


def pair(cm: ld.CacheManager, src_batch: int = 3, dst_batch: int = 2) -> tuple[ld.Cache, ld.Cache]:
    src = cm.allocate_cache(desc(batch=src_batch, width=256))
    dst = cm.allocate_cache(desc(batch=dst_batch, width=256))
    fill(src, 1)
    fill(dst, 2)
    return src, dst


@pytest.mark.clause("copy_cache.copies")
def test_copies_one_batch_slice_in_every_tensor(cm: ld.CacheManager) -> None:
    src, dst = pair(cm)
    before_src, before_dst = snapshot(src), snapshot(dst)
    stride = 512  # 256 x fp16
    cm.copy_cache(dst, src, 1, 2)
    for t in range(2):
        expected = before_dst[t].copy()
        expected[stride:] = before_src[t][2 * stride :]
        assert (tensor_view(dst, t) == expected).all()
        assert (tensor_view(src, t) == before_src[t]).all()


@pytest.mark.clause("copy_cache.copies")
def test_copies_between_host_and_device(cm: ld.CacheManager) -> None:
    src = cm.allocate_cache(desc(batch=1, placement=ld.Placement.HOST))
    dst = cm.allocate_cache(desc(batch=1, placement=ld.Placement.DEVICE))
    data = fill(src, 3)
    cm.copy_cache(dst, src)
    assert all((tensor_view(dst, t) == data[t]).all() for t in range(2))


@pytest.mark.clause("copy_cache.defaults")
def test_defaults_equal_explicit_arguments(cm: ld.CacheManager) -> None:
    src, dst = pair(cm)
    other = cm.allocate_cache(desc(batch=2, width=256))
    fill(other, 2)
    cm.copy_cache(dst, src)
    cm.copy_cache(other, src, 0, 0, 0, -1, None)
    assert all((tensor_view(dst, t) == tensor_view(other, t)).all() for t in range(2))


@pytest.mark.clause("copy_cache.offset_per_tensor")
def test_offset_applies_within_the_slice_of_each_tensor(cm: ld.CacheManager) -> None:
    src, dst = pair(cm)
    before_src, before_dst = snapshot(src), snapshot(dst)
    cm.copy_cache(dst, src, 1, 0, offset=100)
    for t in range(2):
        expected = before_dst[t].copy()
        expected[512 + 100 : 1024] = before_src[t][100:512]
        assert (tensor_view(dst, t) == expected).all()


@pytest.mark.clause("copy_cache.size.semantics")
def test_size_copies_that_many_bytes_per_tensor(cm: ld.CacheManager) -> None:
    src, dst = pair(cm)
    before_src, before_dst = snapshot(src), snapshot(dst)
    cm.copy_cache(dst, src, 0, 1, offset=10, size=128)
    for t in range(2):
        expected = before_dst[t].copy()
        expected[10:138] = before_src[t][512 + 10 : 512 + 138]
        assert (tensor_view(dst, t) == expected).all()


@pytest.mark.clause("copy_cache.size.range")
@pytest.mark.parametrize("size", [0, -2, -(2**63)])
def test_size_must_be_minus_one_or_positive(cm: ld.CacheManager, size: int) -> None:
    src, dst = pair(cm)
    before = snapshot(dst)
    with pytest.raises(ValueError, match="size"):  # also an LLMException(PARAM_INVALID)
        cm.copy_cache(dst, src, size=size)
    assert all((tensor_view(dst, t) == before[t]).all() for t in range(2))


@pytest.mark.clause("copy_cache.req_id.logging_only")
def test_req_id_changes_nothing_but_the_log(
    cm: ld.CacheManager, caplog: pytest.LogCaptureFixture
) -> None:
    src, dst = pair(cm)
    other = cm.allocate_cache(desc(batch=2, width=256))
    fill(other, 2)
    with caplog.at_level(logging.DEBUG, logger="llm_datadist_ref"):
        cm.copy_cache(dst, src, 1, 1, req_id=424242)
    cm.copy_cache(other, src, 1, 1)
    assert all((tensor_view(dst, t) == tensor_view(other, t)).all() for t in range(2))
    assert "424242" in caplog.text


@pytest.mark.clause("copy_cache.desc_must_match")
@pytest.mark.parametrize(
    "dst_desc",
    [
        ld.CacheDesc(3, [2, 256], ld.DataType.DT_FLOAT16),  # num_tensors
        ld.CacheDesc(2, [2, 256], ld.DataType.DT_INT16),  # data_type
        ld.CacheDesc(2, [2, 128], ld.DataType.DT_FLOAT16),  # shape beyond the batch dim
    ],
)
def test_mismatched_descs_are_rejected(cm: ld.CacheManager, dst_desc: ld.CacheDesc) -> None:
    src = cm.allocate_cache(desc(batch=2, width=256))
    dst = cm.allocate_cache(dst_desc)
    with pytest.raises(ValueError, match="must match") as info:
        cm.copy_cache(dst, src)
    assert_status(info.value, S.LLM_PARAM_INVALID)


@pytest.mark.clause("copy_cache.bounds")
@pytest.mark.parametrize(
    "kwargs",
    [
        {"dst_batch_index": 2},
        {"src_batch_index": 3},
        {"offset": 512},
        {"offset": 400, "size": 113},
        {"size": 513},
        {"dst_batch_index": 2**32 - 1},
    ],
)
def test_out_of_bounds_copies_are_rejected_and_write_nothing(
    cm: ld.CacheManager, kwargs: dict[str, int]
) -> None:
    src, dst = pair(cm)
    before = snapshot(dst)
    with pytest.raises((ValueError, ld.LLMException)):
        cm.copy_cache(dst, src, **kwargs)
    assert all((tensor_view(dst, t) == before[t]).all() for t in range(2))


@pytest.mark.clause("copy_cache.bounds")
def test_offset_plus_size_up_to_the_slice_end_is_fine(cm: ld.CacheManager) -> None:
    src, dst = pair(cm)
    cm.copy_cache(dst, src, 1, 2, offset=400, size=112)


@pytest.mark.clause("copy_cache.bounds")
def test_copy_from_a_released_cache_fails(cm: ld.CacheManager) -> None:
    src, dst = pair(cm)
    cm.deallocate_cache(src)
    with pytest.raises(ld.LLMException) as info:
        cm.copy_cache(dst, src)
    assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)


@pytest.mark.clause("copy_cache.raises.wrong_type")
@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"dst": None}, TypeError),
        ({"src": "cache"}, TypeError),
        ({"dst_batch_index": 1.0}, TypeError),
        ({"src_batch_index": "0"}, TypeError),
        ({"offset": None}, TypeError),
        ({"size": 2.5}, TypeError),
        ({"req_id": "r"}, TypeError),
        ({"dst_batch_index": -1}, ValueError),
        ({"src_batch_index": 2**32}, ValueError),
        ({"offset": -1}, ValueError),
        ({"size": 2**63}, ValueError),
        ({"req_id": -1}, ValueError),
    ],
)
def test_copy_cache_wrong_types(
    cm: ld.CacheManager, kwargs: dict[str, object], error: type
) -> None:
    src, dst = pair(cm)
    arguments: dict[str, object] = {"dst": dst, "src": src, **kwargs}
    with pytest.raises(error):
        cm.copy_cache(**arguments)  # type: ignore[arg-type]


@pytest.mark.clause("copy_cache.raises.wrong_type")
def test_copy_cache_rejects_blocks_caches(cm: ld.CacheManager) -> None:
    blocks = cm.allocate_blocks_cache(desc(batch=4, width=256))
    plain = cm.allocate_cache(desc(batch=4, width=256))
    with pytest.raises(ld.LLMException):
        cm.copy_cache(plain, blocks)


def test_overlapping_copy_within_one_cache(cm: ld.CacheManager) -> None:
    cache = cm.allocate_cache(desc(batch=2, width=256))
    data = fill(cache, 9)
    cm.copy_cache(cache, cache, 0, 0)  # same slice onto itself: unchanged
    assert all((tensor_view(cache, t) == data[t]).all() for t in range(2))
    cm.copy_cache(cache, cache, 0, 1)
    assert np.array_equal(tensor_view(cache, 0)[:512], data[0][512:])


@pytest.mark.clause("copy_cache.copies")
def test_large_copy_on_several_workers(engines: Engines) -> None:
    cm = engines.make(device_pool=pool_cfg(64 * 2**20)).cache_manager
    big = ld.CacheDesc(4, [2, 2**21], ld.DataType.DT_UINT8)  # 4 tensors x 2 MiB slices = 8 MiB
    src, dst = cm.allocate_cache(big), cm.allocate_cache(big)
    data = fill(src, 21)
    before = fill(dst, 22)
    cm.copy_cache(dst, src, 1, 0)
    for t in range(4):
        assert np.array_equal(tensor_view(dst, t)[2**21 :], data[t][: 2**21])
        assert np.array_equal(tensor_view(dst, t)[: 2**21], before[t][: 2**21])


@pytest.mark.clause("copy_cache.copies")
@pytest.mark.parametrize("offset", [0, 1, 15, 16, 17, 63])
@pytest.mark.parametrize(
    "size", [4 * 1024 - 1, 4 * 1024, 4 * 1024 + 1, 8195, 32 * 1024 + 1, 40_003]
)
def test_large_copies_at_any_alignment_write_exactly_their_bytes(
    cm: ld.CacheManager, offset: int, size: int
) -> None:
    """Spans of 4 KiB and more (copy_engine.hpp's kStreamingCopyThreshold) take the streaming-store
    copy (head to 16-byte alignment, 64-byte lines, tail): every byte of the range is copied and
    none beside it is touched."""
    layout = desc(batch=2, width=48 * 1024, num_tensors=1, dtype=ld.DataType.DT_UINT8)
    src, dst = cm.allocate_cache(layout), cm.allocate_cache(layout)
    source, before = fill(src, 5)[0], fill(dst, 6)[0]
    cm.copy_cache(dst, src, 1, 0, offset, size)
    slice_bytes = 48 * 1024
    expected = before.copy()
    start = slice_bytes + offset
    expected[start : start + size] = source[offset : offset + size]
    assert (tensor_view(dst, 0) == expected).all()
