"""swap_blocks between a DEVICE blocks cache and HOST memory."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
from impl_support import Engines, assert_status, fill, snapshot, tensor_view

import llm_datadist_ref as ld

S = ld.LLMStatusCode


def device_desc(blocks: int = 8, width: int = 512, num_tensors: int = 2) -> ld.CacheDesc:
    return ld.CacheDesc(num_tensors, [blocks, width], ld.DataType.DT_FLOAT16, ld.Placement.DEVICE)


def host_desc(blocks: int = 6, width: int = 512, num_tensors: int = 2) -> ld.CacheDesc:
    return ld.CacheDesc(num_tensors, [blocks, width], ld.DataType.DT_FLOAT16, ld.Placement.HOST)


def host_arrays(cache_desc: ld.CacheDesc, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, cache_desc.size, dtype=np.uint8) for _ in range(cache_desc.num_tensors)
    ]


BLOCK = 1024  # 512 x fp16


@pytest.mark.clause("swap_blocks.swap_in")
def test_swap_in_from_numpy_host_memory(cm: ld.CacheManager) -> None:
    device = cm.allocate_blocks_cache(device_desc())
    before = fill(device, 1)
    arrays = host_arrays(host_desc(), 2)
    host = ld.Cache.create_cpu_cache(host_desc(), list(arrays))
    cm.swap_blocks(host, device, {1: 2, 5: 0})
    for t in range(2):
        expected = before[t].copy()
        expected[2 * BLOCK : 3 * BLOCK] = arrays[t][1 * BLOCK : 2 * BLOCK]
        expected[0:BLOCK] = arrays[t][5 * BLOCK : 6 * BLOCK]
        assert np.array_equal(tensor_view(device, t), expected)


@pytest.mark.clause("swap_blocks.swap_in", "swap_blocks.staging_buffer")
def test_swap_in_from_int_addresses_through_the_staging_path(cm: ld.CacheManager) -> None:
    # 2 tensors x 256 blocks of 4 KiB = 2 MiB: above the inline threshold, so the staged path runs.
    blocks, width = 256, 2048
    device = cm.allocate_blocks_cache(device_desc(blocks=blocks, width=width))
    fill(device, 3)
    buffers = [ctypes.create_string_buffer(blocks * width * 2) for _ in range(2)]
    # ctypes arrays are buffers, which numpy's stubs do not say for the Python 3.10 mypy checks.
    arrays = [
        np.frombuffer(buffer, dtype=np.uint8, count=blocks * width * 2)  # type: ignore[call-overload]
        for buffer in buffers
    ]
    rng = np.random.default_rng(4)
    for array in arrays:
        array[:] = rng.integers(0, 256, array.size, dtype=np.uint8)
    host = ld.Cache.create_cpu_cache(
        host_desc(blocks=blocks, width=width), [ctypes.addressof(buffer) for buffer in buffers]
    )
    mapping = {i: (i * 7) % blocks for i in range(blocks)}
    cm.swap_blocks(host, device, mapping)
    block = width * 2
    for t in range(2):
        view = tensor_view(device, t)
        for src, dst in mapping.items():
            assert np.array_equal(
                view[dst * block : (dst + 1) * block], arrays[t][src * block : (src + 1) * block]
            )


@pytest.mark.clause("swap_blocks.swap_out", "swap_blocks.threads")
@pytest.mark.parametrize(("blocks", "width"), [(8, 512), (256, 2048)])  # inline; on 4 workers
def test_swap_out_to_host(cm: ld.CacheManager, blocks: int, width: int) -> None:
    device = cm.allocate_blocks_cache(device_desc(blocks=blocks, width=width))
    data = fill(device, 5)
    arrays = host_arrays(host_desc(blocks=blocks, width=width), 6)
    before = [a.copy() for a in arrays]
    host = ld.Cache.create_cpu_cache(host_desc(blocks=blocks, width=width), list(arrays))
    mapping = {i: blocks - 1 - i for i in range(0, blocks, 3)}
    cm.swap_blocks(device, host, mapping)
    block = width * 2
    for t in range(2):
        expected = before[t].copy()
        for src, dst in mapping.items():
            expected[dst * block : (dst + 1) * block] = data[t][src * block : (src + 1) * block]
        assert np.array_equal(arrays[t], expected)


@pytest.mark.clause("swap_blocks.swap_out")
def test_swap_out_to_a_host_pool_blocks_cache(cm: ld.CacheManager) -> None:
    device = cm.allocate_blocks_cache(device_desc())
    host = cm.allocate_blocks_cache(host_desc())
    data = fill(device, 7)
    cm.swap_blocks(device, host, {7: 0})
    assert np.array_equal(tensor_view(host, 1)[:BLOCK], data[1][7 * BLOCK :])


@pytest.mark.clause("swap_blocks.swap_out")
def test_repeated_destination_gets_the_last_source(cm: ld.CacheManager) -> None:
    device = cm.allocate_blocks_cache(device_desc())
    data = fill(device, 8)
    arrays = host_arrays(host_desc(), 9)
    host = ld.Cache.create_cpu_cache(host_desc(), list(arrays))
    cm.swap_blocks(device, host, {1: 0, 2: 0})
    assert np.array_equal(arrays[0][:BLOCK], data[0][2 * BLOCK : 3 * BLOCK])


@pytest.mark.clause("swap_blocks.bounds")
@pytest.mark.parametrize("mapping", [{8: 0}, {0: 6}, {-1: 0}, {0: -1}, {2**40: 1}])
def test_block_indices_out_of_range(cm: ld.CacheManager, mapping: dict[int, int]) -> None:
    device = cm.allocate_blocks_cache(device_desc())
    arrays = host_arrays(host_desc(), 10)
    before = [a.copy() for a in arrays]
    host = ld.Cache.create_cpu_cache(host_desc(), list(arrays))
    with pytest.raises((ValueError, ld.LLMException)):
        cm.swap_blocks(device, host, mapping)
    assert all(np.array_equal(a, b) for a, b in zip(arrays, before, strict=True))


@pytest.mark.clause("swap_blocks.raises.wrong_type")
@pytest.mark.parametrize("which", ["src", "dst", "map", "key", "value", "tuple"])
def test_wrong_types(cm: ld.CacheManager, which: str) -> None:
    device = cm.allocate_blocks_cache(device_desc())
    host = ld.Cache.create_cpu_cache(host_desc(), host_arrays(host_desc(), 11))
    args: list[object] = [device, host, {0: 1}]
    bad: dict[str, tuple[int, object]] = {
        "src": (0, "cache"),
        "dst": (1, 42),
        "map": (2, [(0, 1)]),
        "key": (2, {"0": 1}),
        "value": (2, {0: 1.5}),
        "tuple": (2, ((0, 1),)),
    }
    index, value = bad[which]
    args[index] = value
    with pytest.raises(TypeError):
        cm.swap_blocks(*args)  # type: ignore[arg-type]


@pytest.mark.clause("swap_blocks.raises.mismatch")
@pytest.mark.parametrize(
    "host",
    [
        host_desc(num_tensors=3),  # tensor count
        host_desc(width=256),  # block size
        ld.CacheDesc(
            2, [6, 1024], ld.DataType.DT_INT8, ld.Placement.HOST
        ),  # same bytes, other dtype: fine
    ],
)
def test_mismatched_caches(cm: ld.CacheManager, host: ld.CacheDesc) -> None:
    device = cm.allocate_blocks_cache(device_desc())
    cpu = ld.Cache.create_cpu_cache(host, host_arrays(host, 12))
    if host.num_tensors == 2 and host.size // host.batch_size == BLOCK:
        cm.swap_blocks(device, cpu, {0: 0})
        return
    with pytest.raises(ValueError, match="must be equal"):
        cm.swap_blocks(device, cpu, {0: 0})


@pytest.mark.clause("swap_blocks.paged_only")
def test_swap_takes_blocks_caches_only(cm: ld.CacheManager) -> None:
    plain = cm.allocate_cache(device_desc())
    host = ld.Cache.create_cpu_cache(host_desc(), host_arrays(host_desc(), 15))
    with pytest.raises(ValueError, match="blocks caches only"):
        cm.swap_blocks(plain, host, {0: 0})


@pytest.mark.clause("swap_blocks.raises.mismatch")
def test_device_to_device_is_not_a_swap(cm: ld.CacheManager) -> None:
    a = cm.allocate_blocks_cache(device_desc())
    b = cm.allocate_blocks_cache(device_desc())
    with pytest.raises(ValueError, match="not supported"):
        cm.swap_blocks(a, b, {0: 0})


@pytest.mark.clause("swap_blocks.raises.none")
@pytest.mark.parametrize("position", [0, 1, 2])
def test_none_raises_attribute_error(cm: ld.CacheManager, position: int) -> None:
    device = cm.allocate_blocks_cache(device_desc())
    host = ld.Cache.create_cpu_cache(host_desc(), host_arrays(host_desc(), 13))
    args: list[object] = [device, host, {0: 0}]
    args[position] = None
    with pytest.raises(AttributeError):
        cm.swap_blocks(*args)  # type: ignore[arg-type]


@pytest.mark.clause("create_cpu_cache.returns.cache")
def test_create_cpu_cache(cm: ld.CacheManager) -> None:
    arrays = host_arrays(host_desc(), 14)
    cache = ld.Cache.create_cpu_cache(host_desc(), [arrays[0], arrays[1].ctypes.data])
    assert cache.cache_id == -1
    assert cache.is_blocks_cache
    assert cache.tensor_addrs == [arrays[0].ctypes.data, arrays[1].ctypes.data]


@pytest.mark.clause("create_cpu_cache.raises.wrong_type")
@pytest.mark.parametrize(
    ("args", "error"),
    [
        (("desc", [1, 2]), TypeError),
        ((host_desc(), (1, 2)), TypeError),
        ((host_desc(), [1, "2"]), TypeError),
        ((host_desc(), [1, -2]), ValueError),
        ((host_desc(), [1, 0]), ValueError),
        ((host_desc(), [np.zeros(10, np.uint8), 1]), ValueError),  # too small
        ((host_desc(), [np.zeros(8192, np.uint8)[::2], 1]), ValueError),  # not contiguous
        ((host_desc(), [1]), ld.LLMException),  # count != num_tensors
        ((device_desc(), [1, 2]), ld.LLMException),  # not HOST
    ],
)
def test_create_cpu_cache_rejects(args: tuple[object, object], error: type) -> None:
    with pytest.raises(error):
        ld.Cache.create_cpu_cache(*args)  # type: ignore[arg-type]


@pytest.mark.clause("create_cpu_cache.raises.none")
@pytest.mark.parametrize("position", [0, 1])
def test_create_cpu_cache_none(position: int) -> None:
    args: list[object] = [host_desc(), [1, 2]]
    args[position] = None
    with pytest.raises(AttributeError):
        ld.Cache.create_cpu_cache(*args)  # type: ignore[arg-type]


def test_swap_with_a_cache_of_another_engine_fails(engines: Engines) -> None:
    one = engines.make().cache_manager
    two = engines.make().cache_manager
    device = one.allocate_blocks_cache(device_desc())
    host = two.allocate_blocks_cache(host_desc())
    before = snapshot(device)
    with pytest.raises(ld.LLMException) as info:
        one.swap_blocks(host, device, {0: 0})
    assert_status(info.value, S.LLM_KV_CACHE_NOT_EXIST)
    assert all(np.array_equal(tensor_view(device, t), before[t]) for t in range(2))
