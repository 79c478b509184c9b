"""The C++ core checks its own input: calling _core directly with bad arguments raises, it never
corrupts memory. (Caller memory given to swap_blocks by address is the one thing the core must
trust, as the vendor API does; these tests never pass such addresses.)"""

from __future__ import annotations

import contextlib
import ctypes
import platform
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import llm_datadist_ref as ld
from llm_datadist_ref import _core

ALLOWED = (TypeError, ValueError, OverflowError, ld.LLMException, _core.CoreError)


@pytest.fixture(scope="module")
def engine() -> Iterator[_core.Engine]:
    core = _core.Engine(1000, (1 << 20, 12), (1 << 20, 12))
    core.allocate(1, 2, 4096 * 4, 4, False, [(1, 2**64 - 1, 0)], None)
    core.allocate(1, 1, 4096 * 8, 8, True, (), 3)
    core.allocate(0, 1, 4096 * 8, 8, True, (), None)
    yield core
    core.finalize()


small = st.integers(-3, 12)
values = st.one_of(
    small,
    st.integers(-(2**65), 2**65),
    st.none(),
    st.floats(),
    st.text(max_size=2),
    st.lists(small, max_size=3),
    st.tuples(small, small, small),
    st.dictionaries(small, st.one_of(small, st.lists(small, max_size=3)), max_size=3),
)

CALLS: dict[str, int] = {
    "allocate": 7,
    "deallocate": 2,
    "remove_cache_key": 3,
    "copy_cache": 6,
    "copy_blocks": 2,
    "usage": 1,
    "has_pool": 1,
}


@pytest.mark.parametrize("name", list(CALLS))
def test_engine_methods_reject_bad_arguments(engine: _core.Engine, name: str) -> None:
    @given(args=st.lists(values, min_size=CALLS[name], max_size=CALLS[name]))
    def check(args: list[Any]) -> None:
        with contextlib.suppress(*ALLOWED):
            getattr(engine, name)(*args)

    check()


@given(
    src_id=st.integers(0, 5),
    dst_id=st.integers(0, 5),
    pairs=st.dictionaries(
        st.one_of(small, st.integers(-(2**65), 2**65)), st.one_of(small, st.text(max_size=1))
    ),
)
def test_swap_between_registry_caches_is_checked(
    src_id: int, dst_id: int, pairs: dict[Any, Any]
) -> None:
    core = _core.Engine(1000, (1 << 20, 12), (1 << 20, 12))
    try:
        core.allocate(1, 1, 4096 * 8, 8, True, (), None)
        core.allocate(0, 1, 4096 * 8, 8, True, (), None)
        core.allocate(0, 2, 4096 * 8, 8, True, (), None)
        with contextlib.suppress(*ALLOWED):
            core.swap_blocks(src_id, None, 0, 0, dst_id, None, 0, 0, pairs)
    finally:
        core.finalize()


def test_transfers_check_the_remote_side() -> None:
    prompt = _core.Engine(1000, (1 << 20, 12), None)
    decoder = _core.Engine(1000, (1 << 20, 12), None)
    prompt.allocate(1, 2, 4096, 1, False, [(5, 2**64 - 1, 0)], None)
    decoder.allocate(1, 2, 4096, 1, False, (), None)
    bad_calls = [
        lambda: decoder.pull_cache(prompt, 0, 5, 2**64 - 1, 0, 1, 1, -1, [], []),  # batch index
        lambda: decoder.pull_cache(prompt, 0, 5, 2**64 - 1, 0, 1, 0, 4097, [], []),  # size
        lambda: decoder.pull_cache(
            prompt, 0, 5, 2**64 - 1, 0, 1, 0, -1, [0, 9], []
        ),  # tensor index
        lambda: decoder.pull_cache(prompt, 1, 1, 3, 0, 1, 0, -1, [], []),  # remote batch
        lambda: decoder.pull_cache(prompt, 7, 0, 0, 0, 1, 0, -1, [], []),  # key kind
        lambda: decoder.pull_blocks(prompt, 2, 0, 0, 0, 1, [0], [0], [], []),  # not a blocks cache
        lambda: decoder.push_cache(prompt, 1, 5, 1, 0, [], []),  # remote batch
        lambda: decoder.push_cache(prompt, 1, 0, 1, 3, [], []),  # local batch
    ]
    for call in bad_calls:
        with pytest.raises(ALLOWED):
            call()
    decoder.pull_cache(prompt, 0, 5, 2**64 - 1, 0, 1, 0, -1, [], [])
    prompt.finalize()
    with pytest.raises(ALLOWED):
        decoder.pull_cache(prompt, 1, 1, 0, 0, 1, 0, -1, [], [])
    decoder.finalize()
    with pytest.raises(ALLOWED):
        decoder.allocate(1, 1, 4096, 1, False, (), None)


def test_memcpy_bench_checks_its_indices() -> None:
    bench = _core.bench.MemcpyBench(1 << 16, 1 << 16)
    with pytest.raises(ValueError, match="out of range"):
        bench.copy_blocks(4096, [16], [0])
    with pytest.raises(ValueError, match="out of range"):
        bench.copy_blocks(4096, [0], [-1])
    assert bench.copy_blocks(4096, [0, 1], [2, 3], 2) >= 0


def test_cache_eviction_reaches_only_memory_the_helper_can_name() -> None:
    """_core.bench.evict_*: the benchmarks' cold-cache step takes a pool, a mapped peer region or
    its own regions, never an address; what it cannot evict is a ValueError, and eviction keeps
    every byte (CLFLUSH writes dirty lines back)."""
    bench = _core.bench.MemcpyBench(1 << 16, 1 << 16)
    x86 = platform.machine() in ("x86_64", "AMD64", "i686")
    assert bench.evict() is x86, "evicts wherever the CPU has CLFLUSH"
    engine = _core.Engine(1000, (1 << 20, 12), None, shareable=True)
    cache_id, (address,) = engine.allocate(1, 1, 4096, 1, False, (), None)
    ctypes.memset(address, 0x6B, 4096)
    shared = engine.shared_pool(1)
    assert shared is not None
    region = _core.PeerRegion(*shared)
    assert _core.bench.evict_pool(engine, 1) is x86
    assert _core.bench.evict_peer_region(region) is x86
    assert ctypes.string_at(address, 4096) == b"\x6b" * 4096, "eviction changed the bytes"
    with pytest.raises(ValueError, match="no pool"):
        _core.bench.evict_pool(engine, 0)  # no HOST pool
    with pytest.raises(ValueError, match="not mapped"):
        _core.bench.evict_peer_region(_core.PeerRegion.remote(1 << 40, 1 << 20))
    engine.deallocate(cache_id, False)
    engine.finalize()
    with pytest.raises(ValueError, match="finalized"):
        _core.bench.evict_pool(engine, 1)
