"""Bad input on every method gets TypeError, ValueError or LLMException (AttributeError only where
the document says so), never a crash, a hang, or another exception type."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from impl_support import Engines, desc

import llm_datadist_ref as ld

ALLOWED = (TypeError, ValueError, ld.LLMException)


class World:
    """A linked PROMPT/DECODER pair and a zoo of caches to pass around."""

    def __init__(self, engines: Engines) -> None:
        self.prompt, self.decoder = engines.linked_pair(remote_cache_accessible=False)
        self.cm = self.decoder.cache_manager
        pcm = self.prompt.cache_manager
        pcm.allocate_cache(desc(batch=2), [ld.CacheKey(self.prompt.cluster_id, 1)])
        pcm.allocate_blocks_cache(desc(batch=4), ld.BlocksCacheKey(self.prompt.cluster_id, 1))
        host_desc = ld.CacheDesc(2, [4, 1024], ld.DataType.DT_FLOAT16, ld.Placement.HOST)
        self.arrays = [np.zeros(host_desc.size, np.uint8) for _ in range(2)]
        released = self.cm.allocate_cache(desc())
        self.cm.deallocate_cache(released)
        self.caches = [
            self.cm.allocate_cache(desc()),
            self.cm.allocate_cache(desc(batch=1)),
            self.cm.allocate_blocks_cache(desc(batch=4)),
            self.cm.allocate_blocks_cache(
                ld.CacheDesc(2, [4, 1024], ld.DataType.DT_FLOAT16, ld.Placement.HOST)
            ),
            ld.Cache.create_cpu_cache(host_desc, list(self.arrays)),
            pcm.allocate_cache(desc()),  # another engine's
            released,
            ld.Cache(77, desc(), [], None, False, False),
        ]
        cid = self.prompt.cluster_id
        self.keys = [
            ld.CacheKey(cid, 1),
            ld.CacheKey(cid, 2**64 - 1),
            ld.CacheKey(cid, 1, prefix_id=5),
            ld.CacheKeyByIdAndIndex(cid, 1, 1),
            ld.CacheKeyByIdAndIndex(cid, 2**40, 7),
            ld.BlocksCacheKey(cid, 1),
            ld.BlocksCacheKey(cid, -1),
            ld.CacheKey(424242, 1),
        ]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    engines = Engines()
    yield World(engines)
    engines.close()


ints = st.one_of(
    st.sampled_from(
        [0, 1, 2, 3, -1, -2, 2**31, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 1, 2**64]
    ),
    st.integers(-(2**70), 2**70),
)
junk = st.one_of(
    st.none(),
    st.booleans(),
    ints,
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.lists(ints, max_size=3),
    st.tuples(ints),
    st.dictionaries(ints, st.one_of(ints, st.lists(ints, max_size=3), st.none()), max_size=3),
    st.just(np.int64(1)),
    st.just(range(0, 1)),
    st.just(object()),
    st.builds(desc),
)


def argument(world: World, kind: str) -> st.SearchStrategy[Any]:
    """A value of roughly the right kind half of the time, junk otherwise."""
    kinds: dict[str, st.SearchStrategy[Any]] = {
        "cache": st.sampled_from(world.caches),
        "key": st.sampled_from(world.keys),
        "keys": st.lists(st.sampled_from(world.keys), max_size=3),
        "desc": st.builds(
            ld.CacheDesc,
            st.integers(0, 3),
            st.lists(st.integers(-1, 64), min_size=1, max_size=3),
            st.sampled_from(list(ld.DataType)),
            st.sampled_from(list(ld.Placement)),
        ),
        "int": st.one_of(st.integers(-2, 8), ints),
        "blocks": st.dictionaries(
            st.integers(-2, 8), st.lists(st.integers(-2, 8), max_size=3), max_size=4
        ),
        "pairs": st.dictionaries(st.integers(-2, 8), st.integers(-2, 8), max_size=4),
        "range": st.one_of(st.none(), st.builds(range, st.integers(-1, 3), st.integers(-1, 4))),
        "list": st.lists(st.integers(-2, 8), max_size=4),
    }
    return st.one_of(kinds[kind], junk)


SIGNATURES: dict[str, list[str]] = {
    "allocate_cache": ["desc", "keys"],
    "deallocate_cache": ["cache"],
    "remove_cache_key": ["key"],
    "copy_cache": ["cache", "cache", "int", "int", "int", "int", "int"],
    "allocate_blocks_cache": ["desc", "key"],
    "deallocate_blocks_cache": ["cache"],
    "copy_blocks": ["cache", "blocks"],
    "swap_blocks": ["cache", "cache", "pairs"],
    "pull_cache": ["key", "cache", "int", "int"],
    "pull_blocks": ["key", "cache", "list", "list"],
    "push_cache": ["key", "cache", "int", "range", "range", "int", "int"],
}


@pytest.mark.parametrize("method", list(SIGNATURES))
def test_random_arguments_never_crash(world: World, method: str) -> None:
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        kinds = SIGNATURES[method]
        count = data.draw(st.integers(1, len(kinds)), label="arity")
        args = [
            data.draw(argument(world, kind), label=f"arg{i}")
            for i, kind in enumerate(kinds[:count])
        ]
        call: Callable[..., Any] = getattr(world.cm, method)
        try:
            call(*args)
        except ALLOWED:
            pass
        except AttributeError:
            assert method == "swap_blocks"
            assert None in args

    check()


@given(data=st.data())
def test_random_pool_configs_never_crash(data: st.DataObject) -> None:
    value = data.draw(
        st.one_of(
            junk,
            st.text(max_size=40),
            st.builds(
                lambda size, shift: f'{{"memory_size": {size}, "page_shift": {shift}}}',
                st.one_of(ints, st.floats(), st.text(max_size=3)),
                st.one_of(ints, st.floats(), st.text(max_size=3)),
            ),
        )
    )
    for attribute in ("mem_pool_cfg", "host_mem_pool_cfg"):
        with contextlib.suppress(TypeError, ValueError):
            setattr(ld.LLMConfig(), attribute, value)
