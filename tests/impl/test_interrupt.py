"""Ctrl-C stops a long copy_blocks, copy_cache or swap_blocks (issue 13, item 7): the core checks
for signals between 64 MiB slices. Only part of the destination is then written; nothing else
changes. (Pulls and pushes release keys before their bytes move and always run to completion.)"""

from __future__ import annotations

import signal
import threading

import pytest
from impl_support import Engines, pool_cfg, tensor_view

import llm_datadist_ref as ld

MIB = 1 << 20
BLOCK = 16 * MIB
REPEATS = 2000  # 2000 dependent 16 MiB copies: 32 GiB, seconds of work on any machine


def interrupt_main_thread_soon() -> threading.Timer:
    timer = threading.Timer(
        0.05, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT)
    )
    timer.start()
    return timer


def test_ctrl_c_stops_a_long_copy_blocks(engines: Engines) -> None:
    datadist = engines.make(device_pool=pool_cfg(4 * BLOCK + MIB), host_pool=pool_cfg(MIB))
    cm = datadist.cache_manager
    cache = cm.allocate_blocks_cache(ld.CacheDesc(1, [4, BLOCK], ld.DataType.DT_UINT8))
    view = tensor_view(cache, 0)
    view[:BLOCK] = 7
    view[BLOCK:] = 0
    # Block 0 to blocks 1 and 2 again and again (dependent: one thread, in order), then to 3.
    plan = {0: [1, 2] * (REPEATS // 2) + [3]}
    timer = interrupt_main_thread_soon()
    try:
        with pytest.raises(KeyboardInterrupt):
            cm.copy_blocks(cache, plan)
    finally:
        timer.cancel()
    assert not view[3 * BLOCK :].any(), (
        "copy_blocks of 32 GiB ran to its last copy although Ctrl-C arrived after 50 ms; "
        "expected it stopped at a 64 MiB slice boundary"
    )
    cm.copy_blocks(cache, {0: [3]})  # the engine is fine afterwards
    assert (view[3 * BLOCK :] == 7).all()
