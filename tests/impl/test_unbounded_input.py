"""No single argument buys unbounded work: sizes are bound-checked before anything is built from
them, and every size computation that could overflow is checked (issue 13, item 3)."""

from __future__ import annotations

import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from impl_support import Engines, assert_status, desc, link

import llm_datadist_ref as ld
from llm_datadist_ref import _core, testing

S = ld.LLMStatusCode
UINT32_MAX = 2**32 - 1
# A layer range far beyond any cache: materialised as a list it costs about 70 MiB.
HUGE_RANGE = range(0, 2**20)
PEAK_LIMIT = 1 << 20


def peak_bytes_of(call: Callable[[], object]) -> int:
    """Peak Python memory allocated while `call` runs (it must raise ValueError)."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="layer_range"):
            call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("side", ["src_layer_range", "dst_layer_range"])
def test_pull_cache_refuses_a_huge_layer_range_before_building_it(
    engines: Engines, side: str
) -> None:
    prompt, decoder = engines.linked_pair()
    prompt.cache_manager.allocate_cache(desc(num_tensors=2), [ld.CacheKey(1, req_id=1)])
    target = decoder.cache_manager.allocate_cache(desc(num_tensors=2))
    key = ld.CacheKey(prompt.cluster_id, req_id=1)
    huge: dict[str, Any] = {side: HUGE_RANGE}
    peak = peak_bytes_of(lambda: decoder.cache_manager.pull_cache(key, target, **huge))
    assert peak < PEAK_LIMIT, (
        f"pull_cache({side}={HUGE_RANGE}) allocated {peak} bytes before refusing it; "
        f"expected a bound check against the cache's 2 tensors first"
    )


def test_pull_blocks_refuses_a_huge_layer_range_before_building_it(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    prompt.cache_manager.allocate_blocks_cache(desc(batch=4), ld.BlocksCacheKey(1, 0))
    target = decoder.cache_manager.allocate_blocks_cache(desc(batch=4))
    key = ld.BlocksCacheKey(prompt.cluster_id, 0)
    peak = peak_bytes_of(
        lambda: decoder.cache_manager.pull_blocks(key, target, [0], [1], src_layer_range=HUGE_RANGE)
    )
    assert peak < PEAK_LIMIT, f"pull_blocks allocated {peak} bytes for a layer range first"


def test_push_cache_refuses_a_huge_layer_range_before_building_it(engines: Engines) -> None:
    prompt = engines.make(remote_cache_accessible=True)
    decoder = engines.make(ld.LLMRole.DECODER, remote_cache_accessible=True)
    link(decoder, prompt)
    remote = prompt.cache_manager.allocate_cache(desc())
    local = decoder.cache_manager.allocate_cache(desc())
    key = ld.CacheKeyByIdAndIndex(prompt.cluster_id, remote.cache_id, 0)
    peak = peak_bytes_of(
        lambda: decoder.cache_manager.push_cache(
            key, local, 0, src_layer_range=range(0, 1), dst_layer_range=HUGE_RANGE
        )
    )
    assert peak < PEAK_LIMIT, f"push_cache allocated {peak} bytes for a layer range first"


def test_a_range_as_long_as_the_cache_is_still_accepted(engines: Engines) -> None:
    prompt, decoder = engines.linked_pair()
    prompt.cache_manager.allocate_cache(desc(num_tensors=4), [ld.CacheKey(1, req_id=1)])
    target = decoder.cache_manager.allocate_cache(desc(num_tensors=4))
    key = ld.CacheKey(prompt.cluster_id, req_id=1)
    decoder.cache_manager.pull_cache(key, target, src_layer_range=range(0, 2))


def test_a_huge_num_tensors_is_out_of_memory_not_a_memory_error(engines: Engines) -> None:
    cm = engines.make().cache_manager
    for num_tensors in (UINT32_MAX, 2**31, 1 << 20):
        with pytest.raises(ld.LLMException) as caught:
            cm.allocate_cache(ld.CacheDesc(num_tensors, [1, 16], ld.DataType.DT_UINT8))
        assert_status(caught.value, S.LLM_OUT_OF_MEMORY)
        with pytest.raises(ld.LLMException) as caught:
            cm.allocate_blocks_cache(ld.CacheDesc(num_tensors, [1, 16], ld.DataType.DT_UINT8))
        assert_status(caught.value, S.LLM_OUT_OF_MEMORY)
    usage = testing.pool_usage(engines.created[0], ld.Placement.DEVICE)
    assert usage is not None
    assert usage.used_pages == 0, f"a refused allocation left pages in use: {usage}"


def test_the_core_bounds_num_tensors_by_its_pool() -> None:
    core = _core.Engine(1000, (1 << 20, 12), None)
    try:
        tracemalloc.start()
        with pytest.raises(ld.LLMException) as caught:
            core.allocate(1, UINT32_MAX, 1, 1, False, (), None)
        assert_status(caught.value, S.LLM_OUT_OF_MEMORY)
        # 256 pages of 4 KiB: exactly as many one-page tensors fit, one more does not
        _, addresses = core.allocate(1, 256, 4096, 1, False, (), None)
        assert len(addresses) == 256
        with pytest.raises(ld.LLMException):
            core.allocate(1, 1, 4096, 1, False, (), None)
    finally:
        tracemalloc.stop()
        core.finalize()


HUGE_BLOCKS_COPY = """
from pathlib import Path
from llm_datadist_ref import _core
core = _core.Engine(1000, (1 << 29, 16), None)
cache_id, _ = core.allocate(1, 1, 1 << 28, 1 << 28, True, (), None)
Path("/proc/self/clear_refs").write_text("5")  # resets the peak RSS (VmHWM) to the current RSS
before = Path("/proc/self/status").read_text()
core.copy_blocks(cache_id, {0: [1, 2], 5: [2**28 - 1]})
after = Path("/proc/self/status").read_text()
kib = lambda status: int(status.split("VmHWM:")[1].split()[0])
print(kib(after) - kib(before))
"""


def test_copy_blocks_work_follows_the_pairs_not_the_block_count() -> None:
    """copy_blocks of 3 pairs on a cache of 2**28 one-byte blocks must not allocate per block
    (run in a fresh process, whose peak RSS is then a measure of what the call allocated)."""
    done = subprocess.run(
        [sys.executable, "-c", HUGE_BLOCKS_COPY],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    peak_mib = int(done.stdout.split()[-1]) // 1024
    assert peak_mib < 64, (
        f"copy_blocks with 3 pairs on a 2**28-block cache: peak RSS grew {peak_mib} MiB; expected work "
        "and memory that grow with the pairs given (a 256 MiB per-block table was built)"
    )
