"""A valid call of each API the suite calls generically (wrong types, return types, timeouts).

A recipe sets up what the call needs in a scenario (an engine, live caches) and
returns the receiver and the arguments by parameter name, so that a test can
swap one argument for a wrong one and know that any error is due to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .harness import Layout, Scenario

__all__ = ["RECIPES", "Call", "recipe_for"]

_req_ids = itertools.count(1)


@dataclass
class Call:
    """``receiver.method(*args.values())``; a None method calls the receiver itself (a class)."""

    receiver: Any
    method: str | None
    args: dict[str, Any]
    expression: str = ""  #: how the receiver is written, when it is not a named object
    keep: list[Any] = field(default_factory=list)  #: objects that must outlive the call

    def perform(self, s: Scenario, args: dict[str, Any] | None = None) -> Any:
        """Make the call through the transcript, positionally, with ``args`` (default: the valid ones)."""
        values = tuple((args or self.args).values())
        if self.method is None:
            return s.t.invoke(self.expression, self.receiver, values)
        return s.t.call(self.receiver, self.method, *values)

    def expect_ok(self, s: Scenario, args: dict[str, Any] | None = None) -> Any:
        """Perform the call; an exception is a failure of the clause under test."""
        try:
            return self.perform(s, args)
        except Exception as exc:
            return s.checker.fail_call(self.describe(s, args), exc)

    def expect_raises(
        self, s: Scenario, exceptions: list[str], args: dict[str, Any] | None = None
    ) -> BaseException:
        return s.checker.expect_raises_from(
            exceptions, self.describe(s, args), lambda: self.perform(s, args)
        )

    def describe(self, s: Scenario, args: dict[str, Any] | None = None) -> str:
        rendered = s.t.render_args(tuple((args or self.args).values()), {})
        target = (
            self.expression if self.method is None else f"{s.t.render(self.receiver)}.{self.method}"
        )
        return f"{target}({rendered})"


Recipe = Callable[[Scenario], Call]
RECIPES: dict[str, Recipe] = {}


def recipe(api_id: str) -> Callable[[Recipe], Recipe]:
    def register(function: Recipe) -> Recipe:
        RECIPES[api_id] = function
        return function

    return register


def recipe_for(api_id: str) -> Recipe:
    try:
        return RECIPES[api_id]
    except KeyError:
        raise KeyError(
            f"no recipe for {api_id}: add one to datadist_conformance/recipes.py"
        ) from None


SMALL = Layout(1, (2, 16), 1)
BLOCKS = Layout(1, (4, 32), 1)


@recipe("CacheManager.allocate_cache")
def _allocate_cache(s: Scenario) -> Call:
    engine = s.engines.shared()
    key = s.key(engine.cluster_id, next(_req_ids))
    return Call(
        engine.cache_manager, "allocate_cache", {"cache_desc": s.desc(SMALL), "cache_keys": [key]}
    )


@recipe("CacheManager.deallocate_cache")
def _deallocate_cache(s: Scenario) -> Call:
    engine = s.engines.shared()
    return Call(
        engine.cache_manager, "deallocate_cache", {"cache": s.caches.allocate(engine, SMALL).raw}
    )


@recipe("CacheManager.remove_cache_key")
def _remove_cache_key(s: Scenario) -> Call:
    engine = s.engines.shared()
    key = s.key(engine.cluster_id, next(_req_ids))
    s.caches.allocate(engine, SMALL, [key])
    return Call(engine.cache_manager, "remove_cache_key", {"cache_key": key})


@recipe("CacheManager.copy_cache")
def _copy_cache(s: Scenario) -> Call:
    engine = s.engines.shared()
    dst, src = s.caches.allocate(engine, SMALL), s.caches.allocate(engine, SMALL)
    args = {
        "dst": dst.raw,
        "src": src.raw,
        "dst_batch_index": 0,
        "src_batch_index": 1,
        "offset": 0,
        "size": -1,
        "req_id": None,
    }
    return Call(engine.cache_manager, "copy_cache", args)


@recipe("CacheManager.allocate_blocks_cache")
def _allocate_blocks_cache(s: Scenario) -> Call:
    engine = s.engines.shared()
    key = s.new("BlocksCacheKey", engine.cluster_id, next(_req_ids))
    return Call(
        engine.cache_manager,
        "allocate_blocks_cache",
        {"cache_desc": s.desc(BLOCKS), "blocks_cache_key": key},
    )


@recipe("CacheManager.deallocate_blocks_cache")
def _deallocate_blocks_cache(s: Scenario) -> Call:
    engine = s.engines.shared()
    return Call(
        engine.cache_manager,
        "deallocate_blocks_cache",
        {"cache": s.caches.allocate_blocks(engine, BLOCKS).raw},
    )


@recipe("CacheManager.copy_blocks")
def _copy_blocks(s: Scenario) -> Call:
    engine = s.engines.shared()
    cache = s.caches.allocate_blocks(engine, BLOCKS)
    return Call(
        engine.cache_manager, "copy_blocks", {"cache": cache.raw, "copy_block_info": {0: [1, 2]}}
    )


@recipe("CacheManager.swap_blocks")
def _swap_blocks(s: Scenario) -> Call:
    engine = s.engines.shared()
    device = s.caches.allocate_blocks(engine, BLOCKS)
    host = s.caches.cpu_cache(BLOCKS)
    args = {"src_cache": host.raw, "dst_cache": device.raw, "src_to_dst": {0: 1, 2: 3}}
    return Call(engine.cache_manager, "swap_blocks", args)


@recipe("Cache.create_cpu_cache")
def _create_cpu_cache(s: Scenario) -> Call:
    s.require("bytes", "a HOST cache over suite-owned memory")
    buffer = s.adapter.host_buffer(SMALL.tensor_bytes)
    name = s.t.name(buffer, "buf")
    s.t.add(f"{name} = adapter.host_buffer({SMALL.tensor_bytes})")
    s.t.bind(buffer.address, f"{name}.address")
    args = {"cache_desc": s.desc(SMALL, placement="HOST"), "addrs": [buffer.address]}
    return Call(
        s.m.Cache.create_cpu_cache, None, args, expression="m.Cache.create_cpu_cache", keep=[buffer]
    )


@recipe("CacheDesc")
def _cache_desc(s: Scenario) -> Call:
    args = {
        "num_tensors": 2,
        "shape": [4, 8],
        "data_type": s.enum("DataType", "DT_FLOAT16"),
        "placement": s.enum("Placement", "DEVICE"),
        "batch_dim_index": 0,
        "seq_len_dim_index": -1,
        "kv_tensor_format": None,
    }
    return Call(s.m.CacheDesc, None, args, expression="m.CacheDesc")


@recipe("CacheKey")
def _cache_key(s: Scenario) -> Call:
    args = {"cluster_id": 3, "req_id": 41, "model_id": 1, "prefix_id": 2**64 - 1}
    return Call(s.m.CacheKey, None, args, expression="m.CacheKey")


@recipe("LLMDataDist")
def _llm_datadist(s: Scenario) -> Call:
    return Call(
        s.m.LLMDataDist,
        None,
        {"role": s.enum("LLMRole", "PROMPT"), "cluster_id": 5},
        expression="m.LLMDataDist",
    )


@recipe("LLMConfig.generate_options")
def _generate_options(s: Scenario) -> Call:
    config = s.new("LLMConfig")
    s.t.set(config, "device_id", 0)
    s.t.set(config, "enable_cache_manager", True)
    s.t.set(config, "mem_pool_cfg", '{"memory_size": 1048576}')
    s.t.set(config, "host_mem_pool_cfg", '{"memory_size": 1048576, "page_shift": 12}')
    return Call(config, "generate_options", {})
