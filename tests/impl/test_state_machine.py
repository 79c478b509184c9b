"""A model-based test of the registry and the pools: references, deferred release, capacity,
no overlap of live allocations, contents after copies and pulls, and everything returned after
finalize()."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from impl_support import link, pool_cfg, tensor_view

import llm_datadist_ref as ld
from llm_datadist_ref import testing

S = ld.LLMStatusCode
PAGE_SHIFT = 12
PAGE = 1 << PAGE_SHIFT
CAPACITY = {ld.Placement.DEVICE: 32, ld.Placement.HOST: 16}
UINT64_MAX = 2**64 - 1
REQ_IDS = st.integers(0, 7)
_ports = iter(range(40000, 60000))


T = TypeVar("T")


def attempt(call: Callable[[], T]) -> tuple[T | None, ld.LLMStatusCode | None]:
    """(result, None) on success, (None, status code) on LLMException."""
    try:
        return call(), None
    except ld.LLMException as error:
        return None, error.status_code


@dataclass
class ModelCache:
    cache: ld.Cache
    placement: ld.Placement
    pages: int  # per tensor
    blocks: bool
    id_held: bool = True
    keys: set[int] = field(default_factory=set)
    data: list[np.ndarray] = field(default_factory=list)

    @property
    def stride(self) -> int:
        return self.cache.cache_desc.size // self.cache.cache_desc.batch_size


class CacheManagerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        port = next(_ports)
        config = ld.LLMConfig(
            device_id=0, enable_cache_manager=True, listen_ip_info=f"127.0.0.1:{port}"
        )
        config.mem_pool_cfg = pool_cfg(CAPACITY[ld.Placement.DEVICE] * PAGE, PAGE_SHIFT)
        config.host_mem_pool_cfg = pool_cfg(CAPACITY[ld.Placement.HOST] * PAGE, PAGE_SHIFT)
        self.prompt = ld.LLMDataDist(ld.LLMRole.PROMPT, 7001)
        self.prompt.init(config.generate_options())
        self.prompt._test_port = port  # type: ignore[attr-defined]
        self.decoder = ld.LLMDataDist(ld.LLMRole.DECODER, 7002)
        decoder_config = ld.LLMConfig(
            device_id=0, enable_cache_manager=True, mem_pool_cfg=pool_cfg(2**20, 12)
        )
        self.decoder.init(decoder_config.generate_options())
        link(self.decoder, self.prompt)
        self.cm = self.prompt.cache_manager
        # one pull target per tensor count, each wide enough for any batch slice
        self.targets = {
            n: self.decoder.cache_manager.allocate_cache(
                ld.CacheDesc(n, [1, 2 * PAGE], ld.DataType.DT_UINT8)
            )
            for n in (1, 2, 3)
        }
        self.live: dict[int, ModelCache] = {}
        self.bound: dict[int, tuple[int, int]] = {}  # req_id -> (cache_id, batch index)
        self.released: list[ld.Cache] = []

    # -- helpers ----------------------------------------------------------------------------

    def used_pages(self, placement: ld.Placement) -> int:
        return sum(
            m.pages * m.cache.cache_desc.num_tensors
            for m in self.live.values()
            if m.placement == placement
        )

    def forget_if_unreferenced(self, cache_id: int) -> None:
        model = self.live[cache_id]
        if not model.id_held and not model.keys:
            del self.live[cache_id]
            self.released.append(model.cache)

    def fill(self, model: ModelCache, seed: int) -> None:
        rng = np.random.default_rng(seed)
        model.data = []
        for t in range(model.cache.cache_desc.num_tensors):
            view = tensor_view(model.cache, t)
            view[:] = rng.integers(0, 256, view.size, dtype=np.uint8)
            model.data.append(view.copy())

    # -- rules ------------------------------------------------------------------------------

    @rule(
        num_tensors=st.integers(1, 3),
        batch=st.integers(1, 4),
        slice_bytes=st.integers(1, 2 * PAGE // 4),
        placement=st.sampled_from([ld.Placement.DEVICE, ld.Placement.HOST]),
        keys=st.lists(st.one_of(REQ_IDS, st.just(UINT64_MAX)), max_size=5),
        seed=st.integers(0, 2**32 - 1),
    )
    def allocate(
        self,
        num_tensors: int,
        batch: int,
        slice_bytes: int,
        placement: ld.Placement,
        keys: list[int],
        seed: int,
    ) -> None:
        cache_desc = ld.CacheDesc(
            num_tensors, [batch, slice_bytes], ld.DataType.DT_UINT8, placement
        )
        pages = math.ceil(batch * slice_bytes / PAGE)
        too_many = len(keys) > batch
        already = any(k != UINT64_MAX and k in self.bound for k in keys)
        free = CAPACITY[placement] - self.used_pages(placement)
        cache, status = attempt(
            lambda: self.cm.allocate_cache(cache_desc, [ld.CacheKey(7001, k) for k in keys])
        )
        if cache is None:
            if too_many or already:
                assert status == S.LLM_PARAM_INVALID
            else:
                assert status == S.LLM_OUT_OF_MEMORY
                # with one page per tensor there is no fragmentation: only a full pool refuses
                assert pages > 1 or free < num_tensors, (free, pages, num_tensors)
            return
        assert not too_many
        assert not already
        assert free >= pages * num_tensors
        model = ModelCache(cache, placement, pages, blocks=False)
        for index, key in enumerate(keys):
            if key != UINT64_MAX:
                self.bound[key] = (cache.cache_id, index)  # a repeated key ends at its last index
        model.keys = {k for k in keys if k != UINT64_MAX}
        self.fill(model, seed)
        self.live[cache.cache_id] = model

    @rule(
        blocks=st.integers(1, 8), block_bytes=st.integers(1, PAGE), seed=st.integers(0, 2**32 - 1)
    )
    def allocate_blocks(self, blocks: int, block_bytes: int, seed: int) -> None:
        cache_desc = ld.CacheDesc(1, [blocks, block_bytes], ld.DataType.DT_UINT8)
        pages = math.ceil(blocks * block_bytes / PAGE)
        free = CAPACITY[ld.Placement.DEVICE] - self.used_pages(ld.Placement.DEVICE)
        cache, status = attempt(lambda: self.cm.allocate_blocks_cache(cache_desc))
        if cache is None:
            assert status == S.LLM_OUT_OF_MEMORY
            assert pages > 1 or free < 1
            return
        model = ModelCache(cache, ld.Placement.DEVICE, pages, blocks=True)
        self.fill(model, seed)
        self.live[cache.cache_id] = model

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def deallocate(self, data: st.DataObject) -> None:
        cache_id = data.draw(st.sampled_from(sorted(self.live)))
        model = self.live[cache_id]
        if model.blocks:
            self.cm.deallocate_blocks_cache(model.cache)
            del self.live[cache_id]
            self.released.append(model.cache)
            return
        self.cm.deallocate_cache(model.cache)
        model.id_held = False
        self.forget_if_unreferenced(cache_id)

    @precondition(lambda self: self.released)
    @rule(data=st.data())
    def deallocate_again(self, data: st.DataObject) -> None:
        cache = data.draw(st.sampled_from(self.released))
        if cache.is_blocks_cache:
            self.cm.deallocate_blocks_cache(cache)
        else:
            self.cm.deallocate_cache(cache)

    @rule(req_id=REQ_IDS)
    def remove_key(self, req_id: int) -> None:
        self.cm.remove_cache_key(ld.CacheKey(7001, req_id))
        self.release_key(req_id)

    def release_key(self, req_id: int) -> None:
        if req_id in self.bound:
            cache_id, _ = self.bound.pop(req_id)
            self.live[cache_id].keys.discard(req_id)
            self.forget_if_unreferenced(cache_id)

    @rule(req_id=REQ_IDS)
    def pull(self, req_id: int) -> None:
        if req_id not in self.bound:
            for target in self.targets.values():
                _, status = attempt(
                    functools.partial(
                        self.decoder.cache_manager.pull_cache, ld.CacheKey(7001, req_id), target
                    )
                )
                assert status == S.LLM_KV_CACHE_NOT_EXIST, "pulled a key that is not bound"
            return
        cache_id, index = self.bound[req_id]
        model = self.live[cache_id]
        target = self.targets[model.cache.cache_desc.num_tensors]
        self.decoder.cache_manager.pull_cache(ld.CacheKey(7001, req_id), target)
        stride = model.stride
        for t, expected in enumerate(model.data):
            assert np.array_equal(
                tensor_view(target, t)[:stride], expected[index * stride : (index + 1) * stride]
            )
        self.release_key(req_id)

    @precondition(lambda self: any(not m.blocks and m.id_held for m in self.live.values()))
    @rule(data=st.data())
    def copy_cache(self, data: st.DataObject) -> None:
        # a deallocated Cache is not to be used again, even while keys keep its memory
        plain = sorted(i for i, m in self.live.items() if not m.blocks and m.id_held)
        src = self.live[data.draw(st.sampled_from(plain), label="src")]
        dst = self.live[data.draw(st.sampled_from(plain), label="dst")]
        src_desc, dst_desc = src.cache.cache_desc, dst.cache.cache_desc
        src_index = data.draw(st.integers(0, src_desc.batch_size), label="src_index")
        dst_index = data.draw(st.integers(0, dst_desc.batch_size), label="dst_index")
        offset = data.draw(st.integers(0, src.stride), label="offset")
        size = data.draw(st.one_of(st.just(-1), st.integers(0, src.stride + 1)), label="size")
        matches = (
            src_desc.num_tensors == dst_desc.num_tensors
            and src_desc.shape[1:] == dst_desc.shape[1:]
        )
        copied = src.stride - offset if size == -1 else size
        valid = (
            matches
            and src_index < src_desc.batch_size
            and dst_index < dst_desc.batch_size
            and (size == -1 or size > 0)
            and offset < src.stride
            and offset < dst.stride
            and copied <= src.stride - offset
            and copied <= dst.stride - offset
        )
        try:
            self.cm.copy_cache(dst.cache, src.cache, dst_index, src_index, offset, size)
        except (ValueError, ld.LLMException):
            assert not valid
        else:
            assert valid
            for t in range(src_desc.num_tensors):
                start_src = src_index * src.stride + offset
                start_dst = dst_index * dst.stride + offset
                dst.data[t][start_dst : start_dst + copied] = src.data[t][
                    start_src : start_src + copied
                ].copy()
        for t in range(dst_desc.num_tensors):
            assert np.array_equal(tensor_view(dst.cache, t), dst.data[t])

    @precondition(lambda self: any(m.blocks for m in self.live.values()))
    @rule(data=st.data())
    def copy_blocks(self, data: st.DataObject) -> None:
        model = self.live[
            data.draw(st.sampled_from(sorted(i for i, m in self.live.items() if m.blocks)))
        ]
        blocks = model.cache.cache_desc.batch_size
        info = data.draw(
            st.dictionaries(
                st.integers(0, blocks), st.lists(st.integers(0, blocks), max_size=3), max_size=3
            )
        )
        valid = all(s < blocks and all(d < blocks for d in ds) for s, ds in info.items())
        try:
            self.cm.copy_blocks(model.cache, info)
        except (ValueError, ld.LLMException):
            assert not valid
        else:
            assert valid
            stride = model.stride
            for src, dsts in info.items():
                for dst in dsts:
                    block = model.data[0][src * stride : (src + 1) * stride].copy()
                    model.data[0][dst * stride : (dst + 1) * stride] = block
        assert np.array_equal(tensor_view(model.cache, 0), model.data[0])

    # -- invariants ---------------------------------------------------------------------------

    @invariant()
    def registry_matches_the_model(self) -> None:
        assert testing.live_cache_ids(self.prompt) == sorted(self.live)
        assert testing.bound_key_count(self.prompt) == len(self.bound)

    @invariant()
    def pools_hold_exactly_the_live_caches(self) -> None:
        for placement, capacity in CAPACITY.items():
            usage = testing.pool_usage(self.prompt, placement)
            assert usage is not None
            assert usage.capacity_pages == capacity
            assert usage.used_pages == self.used_pages(placement)

    @invariant()
    def live_allocations_do_not_overlap(self) -> None:
        ranges = sorted(
            (address, address + model.pages * PAGE)
            for model in self.live.values()
            for address in model.cache.tensor_addrs
        )
        for (_, end), (start, _) in itertools.pairwise(ranges):
            assert end <= start
        assert all(start % PAGE == 0 for start, _ in ranges)

    def teardown(self) -> None:
        self.prompt.finalize()
        self.decoder.finalize()
        for placement in CAPACITY:
            usage = testing.pool_usage(self.prompt, placement)
            assert usage is not None
            assert usage.used_pages == 0
            assert usage.live_allocations == 0
        assert testing.live_cache_ids(self.prompt) == []


CacheManagerMachine.TestCase.settings = settings(
    CacheManagerMachine.TestCase.settings, stateful_step_count=40
)
TestCacheManagerMachine = CacheManagerMachine.TestCase
