"""The fuzzing harness of the hardening work (issue 13): random sequences of public-API calls,
good and bad, against a byte oracle of every cache. Nothing may crash, hang, corrupt a byte,
change anything on a failed call, or leave a handle pointing at memory it no longer owns.

Short in CI (the profile's examples); long on demand:
    HYPOTHESIS_PROFILE=fuzz pytest tests/impl/test_fuzz_public_api.py     # 2000 runs of 60 steps
"""

from __future__ import annotations

import ctypes
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule
from impl_support import link, pool_cfg

import llm_datadist_ref as ld
from llm_datadist_ref import testing

PAGE = 4096
DOCUMENTED = (TypeError, ValueError, ld.LLMException)
GUARD = 2 * PAGE
_cluster_ids = itertools.count(61000)
_ports = itertools.count(61000)


def bytes_at(address: int, nbytes: int) -> np.ndarray:
    """A writable view of caller-visible memory, sized by the harness (never by the live desc)."""
    return np.ctypeslib.as_array((ctypes.c_uint8 * nbytes).from_address(address))


@dataclass
class Tracked:
    """A cache with the bytes it must hold (the oracle), one array per tensor."""

    cache: ld.Cache
    desc: ld.CacheDesc  # the caller's desc: rules mutate it, the cache must not care
    blocks: int
    block: int
    oracle: list[np.ndarray]
    backing: list[np.ndarray] | None = None  # cpu caches: array + guard bytes after it

    def actual(self) -> list[np.ndarray]:
        if self.backing is not None:
            return [b[: self.blocks * self.block] for b in self.backing]
        size = self.blocks * self.block
        return [bytes_at(address, size) for address in self.cache.tensor_addrs]


def fresh(role: ld.LLMRole, device_pages: int, host_pages: int) -> ld.LLMDataDist:
    port = next(_ports)
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True)
    if role == ld.LLMRole.PROMPT:
        config.listen_ip_info = f"127.0.0.1:{port}"
    config.mem_pool_cfg = pool_cfg(device_pages * PAGE, 12)
    config.host_mem_pool_cfg = pool_cfg(host_pages * PAGE, 12)
    datadist = ld.LLMDataDist(role, next(_cluster_ids))
    datadist.init(config.generate_options())
    datadist._test_port = port  # type: ignore[attr-defined]
    return datadist


class PublicApiFuzz(RuleBasedStateMachine):
    caches = Bundle("caches")

    def __init__(self) -> None:
        super().__init__()
        self.prompt = fresh(ld.LLMRole.PROMPT, 48, 24)
        self.other = fresh(ld.LLMRole.DECODER, 16, 8)
        link(self.other, self.prompt)
        self.live: list[Tracked] = []
        self.stale: list[ld.Cache] = []
        self.rng = np.random.default_rng(0)

    @property
    def cm(self) -> ld.CacheManager:
        return self.prompt.cache_manager

    def track(self, cache: ld.Cache, desc: ld.CacheDesc, blocks: int, block: int) -> Tracked:
        oracle = []
        for t in range(desc.num_tensors):
            data = self.rng.integers(0, 256, blocks * block, dtype=np.uint8)
            bytes_at(cache.tensor_addrs[t], blocks * block)[:] = data
            oracle.append(data.copy())
        tracked = Tracked(cache, desc, blocks, block, oracle)
        self.live.append(tracked)
        return tracked

    def expect_documented_failure(self, call: Callable[[], object]) -> None:
        """A call that fails must fail with a documented type and change nothing."""
        before = [[o.copy() for o in t.oracle] for t in self.live]
        try:
            call()
        except DOCUMENTED:
            pass
        else:
            raise AssertionError(f"expected a documented failure from {call}, it succeeded")
        for tracked, old in zip(self.live, before, strict=True):
            tracked.oracle = old
        self.check_bytes()

    # -- making caches --------------------------------------------------------------------------

    @rule(
        target=caches,
        tensors=st.integers(1, 2),
        blocks=st.integers(1, 4),
        pages=st.integers(1, 2),
        placement=st.sampled_from([ld.Placement.DEVICE, ld.Placement.HOST]),
        is_blocks=st.booleans(),
    )
    def allocate(
        self, tensors: int, blocks: int, pages: int, placement: ld.Placement, is_blocks: bool
    ) -> Tracked | None:
        desc = ld.CacheDesc(tensors, [blocks, pages * PAGE], ld.DataType.DT_UINT8, placement)
        try:
            if is_blocks:
                cache = self.cm.allocate_blocks_cache(desc)
            else:
                cache = self.cm.allocate_cache(desc)
        except ld.LLMException as error:
            status = error.status_code
        else:
            return self.track(cache, desc, blocks, pages * PAGE)
        assert status == ld.LLMStatusCode.LLM_OUT_OF_MEMORY, f"allocate {desc}: {status}"
        return None

    @rule(target=caches, tensors=st.integers(1, 2), blocks=st.integers(1, 4))
    def create_cpu_cache(self, tensors: int, blocks: int) -> Tracked:
        desc = ld.CacheDesc(tensors, [blocks, PAGE], ld.DataType.DT_UINT8, ld.Placement.HOST)
        backing = [np.zeros(blocks * PAGE + GUARD, dtype=np.uint8) for _ in range(tensors)]
        cache = ld.Cache.create_cpu_cache(desc, [b[: blocks * PAGE] for b in backing])
        tracked = Tracked(
            cache, desc, blocks, PAGE, [np.zeros(blocks * PAGE, np.uint8)] * tensors, backing
        )
        tracked.oracle = [o.copy() for o in tracked.oracle]
        self.live.append(tracked)
        return tracked

    # -- rules that must change nothing about a cache -----------------------------------------

    @rule(item=caches, dim=st.integers(0, 1), value=st.integers(0, 64))
    def update_dim_of_its_desc(self, item: Tracked | None, dim: int, value: int) -> None:
        if item is not None:
            item.desc.update_dim(dim, value)

    @rule(item=caches)
    def deallocate_on_another_engine(self, item: Tracked | None) -> None:
        if item is None or item not in self.live or item.backing is not None:
            return
        addresses = list(item.cache.tensor_addrs)
        if item.cache.is_blocks_cache:
            self.other.cache_manager.deallocate_blocks_cache(item.cache)
        else:
            self.other.cache_manager.deallocate_cache(item.cache)
        assert item.cache.tensor_addrs == addresses, "a foreign deallocation changed the handle"

    @rule(item=caches, layers=st.integers(2**10, 2**31))
    def pull_with_a_huge_layer_range(self, item: Tracked | None, layers: int) -> None:
        if item is None or item not in self.live or item.cache.is_blocks_cache:
            return
        key = ld.CacheKey(self.other.cluster_id, req_id=1)
        self.expect_documented_failure(
            lambda: self.cm.pull_cache(key, item.cache, src_layer_range=range(0, layers))
        )

    # -- rules that move bytes ----------------------------------------------------------------

    @rule(
        item=caches,
        pairs=st.dictionaries(
            st.integers(-1, 4), st.lists(st.integers(-1, 4), max_size=3), max_size=3
        ),
    )
    def copy_blocks(self, item: Tracked | None, pairs: dict[int, list[int]]) -> None:
        if (
            item is None
            or item not in self.live
            or item.backing is not None
            or not item.cache.is_blocks_cache
        ):
            return
        indices = [s for s in pairs] + [d for ds in pairs.values() for d in ds]
        if any(not 0 <= i < item.blocks for i in indices):
            self.expect_documented_failure(lambda: self.cm.copy_blocks(item.cache, pairs))
            return
        self.cm.copy_blocks(item.cache, pairs)
        b = item.block
        for data in item.oracle:
            for src, dsts in pairs.items():
                for dst in dsts:
                    data[dst * b : (dst + 1) * b] = data[src * b : (src + 1) * b]

    @rule(
        src=caches,
        dst=caches,
        pairs=st.dictionaries(st.integers(-1, 4), st.integers(-1, 4), max_size=4),
    )
    def swap_blocks(self, src: Tracked | None, dst: Tracked | None, pairs: dict[int, int]) -> None:
        if src is None or dst is None or src not in self.live or dst not in self.live:
            return
        placements = {src.desc.placement, dst.desc.placement}
        valid = (
            src is not dst
            and src.cache.is_blocks_cache
            and dst.cache.is_blocks_cache
            and placements == {ld.Placement.HOST, ld.Placement.DEVICE}
            and len(src.oracle) == len(dst.oracle)
            and src.block == dst.block
            and all(0 <= s < src.blocks and 0 <= d < dst.blocks for s, d in pairs.items())
        )
        if not valid:
            self.expect_documented_failure(lambda: self.cm.swap_blocks(src.cache, dst.cache, pairs))
            return
        self.cm.swap_blocks(src.cache, dst.cache, pairs)
        b = src.block
        for s_data, d_data in zip(src.oracle, dst.oracle, strict=True):
            for s, d in pairs.items():
                d_data[d * b : (d + 1) * b] = s_data[s * b : (s + 1) * b]

    # -- lifecycle -----------------------------------------------------------------------------

    @rule(item=consumes(caches))
    def deallocate(self, item: Tracked | None) -> None:
        if item is None or item not in self.live or item.backing is not None:
            return
        if item.cache.is_blocks_cache:
            self.cm.deallocate_blocks_cache(item.cache)
        else:
            self.cm.deallocate_cache(item.cache)
        self.live.remove(item)
        assert item.cache.tensor_addrs == [], "a deallocated handle still hands out addresses"
        self.stale.append(item.cache)

    @rule()
    def finalize_and_init_again(self) -> None:
        self.prompt.finalize()
        for item in self.live:
            if item.backing is None:
                assert item.cache.tensor_addrs == [], "finalize() left a handle's addresses"
                self.stale.append(item.cache)
        self.live = [item for item in self.live if item.backing is not None]
        self.prompt = fresh(ld.LLMRole.PROMPT, 48, 24)
        link(self.other, self.prompt)

    @rule(data=st.data())
    def use_a_stale_handle(self, data: st.DataObject) -> None:
        if not self.stale:
            return
        cache = data.draw(st.sampled_from(self.stale), label="stale handle")
        assert cache.tensor_addrs == []
        target = cache
        self.expect_documented_failure(lambda: self.cm.copy_cache(target, target))

    # -- what must always hold ------------------------------------------------------------------

    @invariant()
    def check_bytes(self) -> None:
        for item in self.live:
            for t, (got, want) in enumerate(zip(item.actual(), item.oracle, strict=True)):
                assert np.array_equal(got, want), (
                    f"tensor {t} of {item.cache} differs from the oracle"
                )
            for backing in item.backing or []:
                assert not backing[item.blocks * item.block :].any(), (
                    "a cpu cache's guard bytes changed"
                )

    @invariant()
    def pool_pages_match_the_live_caches(self) -> None:
        for placement in (ld.Placement.DEVICE, ld.Placement.HOST):
            usage = testing.pool_usage(self.prompt, placement)
            assert usage is not None
            expected = sum(
                len(i.oracle) * ((i.blocks * i.block + PAGE - 1) // PAGE)
                for i in self.live
                if i.backing is None and i.desc.placement == placement
            )
            assert usage.used_pages == expected, f"{placement}: {usage} for the live caches"

    def teardown(self) -> None:
        self.prompt.finalize()
        self.other.finalize()


TestPublicApiFuzz = PublicApiFuzz.TestCase
