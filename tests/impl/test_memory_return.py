"""Memory the user can see (issue 13, item 7): the swap staging ring is accounted, capped and
released when idle; freed pool pages go back to the OS once enough have been freed."""

from __future__ import annotations

import ctypes
import mmap
import threading

import numpy as np
from impl_support import Engines, fill, pool_cfg, snapshot, tensor_view

import llm_datadist_ref as ld
from llm_datadist_ref import testing

MIB = 1 << 20
MAX_STAGING = 16 * MIB  # 4 slots of at most 4 MiB
RETAINED_STAGING = 1 * MIB

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]


def resident_pages(address: int, nbytes: int) -> int:
    """How many pages of [address, address + nbytes) are in RAM (mincore)."""
    page = mmap.PAGESIZE
    start = address - address % page
    count = (address + nbytes - start + page - 1) // page
    vector = ctypes.create_string_buffer(count)
    assert _libc.mincore(start, count * page, vector) == 0, ctypes.get_errno()
    return sum(byte & 1 for byte in vector.raw)


def swap_round_trip(cm: ld.CacheManager, block: int, blocks: int) -> None:
    device = cm.allocate_blocks_cache(ld.CacheDesc(1, [blocks, block], ld.DataType.DT_UINT8))
    host = cm.allocate_blocks_cache(
        ld.CacheDesc(1, [blocks, block], ld.DataType.DT_UINT8, ld.Placement.HOST)
    )
    fill(host, 5)
    expected = snapshot(host)[0]
    cm.swap_blocks(host, device, {i: blocks - 1 - i for i in range(blocks)})
    out = snapshot(device)[0]
    for i in range(blocks):
        got = out[(blocks - 1 - i) * block : (blocks - i) * block]
        assert np.array_equal(got, expected[i * block : (i + 1) * block]), f"block {i}"
    cm.deallocate_blocks_cache(device)
    cm.deallocate_blocks_cache(host)


def test_large_blocks_are_staged_in_capped_pieces_and_released(engines: Engines) -> None:
    datadist = engines.make(device_pool=pool_cfg(64 * MIB), host_pool=pool_cfg(64 * MIB))
    swap_round_trip(datadist.cache_manager, block=9 * MIB, blocks=3)  # 9 MiB blocks, 4 MiB slots
    assert testing.staging_bytes(datadist) == 0, (
        "swap_blocks(HOST->DEVICE) with 9 MiB blocks left "
        f"{testing.staging_bytes(datadist)} staging bytes mapped; expected the ring unmapped once idle"
    )


def test_small_staging_is_kept_and_accounted(engines: Engines) -> None:
    datadist = engines.make(device_pool=pool_cfg(8 * MIB), host_pool=pool_cfg(8 * MIB))
    swap_round_trip(datadist.cache_manager, block=64 * 1024, blocks=32)
    staging = testing.staging_bytes(datadist)
    assert 0 < staging <= RETAINED_STAGING, f"staging of 64 KiB blocks: {staging} bytes mapped"
    datadist.finalize()
    assert testing.staging_bytes(datadist) == 0, "finalize() left the staging ring mapped"


def test_freed_pool_pages_go_back_to_the_os(engines: Engines) -> None:
    datadist = engines.make(device_pool=pool_cfg(64 * MIB), host_pool=pool_cfg(MIB))
    cm = datadist.cache_manager
    desc = ld.CacheDesc(1, [1, 32 * MIB], ld.DataType.DT_UINT8)
    address = 0
    for _ in range(2):  # 64 MiB freed in all: the trim threshold of a 64 MiB pool
        cache = cm.allocate_cache(desc)
        tensor_view(cache, 0)[:] = 1
        address = cache.tensor_addrs[0]
        assert resident_pages(address, 32 * MIB) > 0
        cm.deallocate_cache(cache)
    resident = resident_pages(address, 32 * MIB)
    usage = testing.pool_usage(datadist, ld.Placement.DEVICE)
    assert usage is not None
    assert usage.trimmed_bytes >= 32 * MIB, f"pool usage after freeing 64 MiB: {usage}"
    assert resident == 0, (
        f"after freeing 64 MiB of a 64 MiB pool, {resident} pages of a freed 32 MiB run are still "
        "resident; expected them handed back to the OS (MADV_DONTNEED)"
    )
    again = cm.allocate_cache(desc)  # reused pages read as zeros and work as before
    assert not tensor_view(again, 0)[::4096].any()
    tensor_view(again, 0)[:] = 3
    assert (tensor_view(again, 0)[::4096] == 3).all()


def test_swap_staging_never_exceeds_its_cap(engines: Engines) -> None:
    datadist = engines.make(device_pool=pool_cfg(64 * MIB), host_pool=pool_cfg(64 * MIB))
    cm = datadist.cache_manager
    device = cm.allocate_blocks_cache(ld.CacheDesc(1, [2, 24 * MIB], ld.DataType.DT_UINT8))
    host = cm.allocate_blocks_cache(
        ld.CacheDesc(1, [2, 24 * MIB], ld.DataType.DT_UINT8, ld.Placement.HOST)
    )
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.append(testing.staging_bytes(datadist))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        cm.swap_blocks(host, device, {0: 1, 1: 0})
    finally:
        done.set()
        watcher.join()
    assert max(seen) <= MAX_STAGING, f"staging peaked at {max(seen)} bytes for 24 MiB blocks"
