"""Product gating: on a line without legacy CacheManager support, its methods fail cleanly."""

from __future__ import annotations

from typing import Any

from ..checks import PreconditionError, not_applicable
from ..harness import DEFAULT_HOST_POOL, Layout, Scenario
from ..speclib import Clause
from . import template


@template("unsupported_on_product", family="products")
def unsupported_on_product(s: Scenario, clause: Clause, data: Any) -> None:
    spec = s.ctx.spec
    feature = clause.params["feature_set"]
    support = next(f for f in spec.feature_sets if f.id == feature).support
    if support[s.ctx.product_id]:
        not_applicable(f"{s.ctx.product_id} supports the {feature} feature set")
    exceptions = list(clause.params["exceptions"])
    try:
        engine = s.engine(host_pool=DEFAULT_HOST_POOL)
    except PreconditionError as error:
        if isinstance(error.__cause__, s.m.LLMException):
            s.t.comment("the engine itself refuses to start on this line: a clean LLMException")
            return
        raise
    layout = Layout(1, (4, 32), 1)
    host = s.cpu_cache(layout)
    key = s.key(engine.cluster_id, 1)
    arguments: dict[str, tuple[Any, ...]] = {
        "allocate_cache": (s.desc(layout), [key]),
        "deallocate_cache": (host.raw,),
        "remove_cache_key": (key,),
        "copy_cache": (host.raw, host.raw),
        "allocate_blocks_cache": (s.desc(layout),),
        "deallocate_blocks_cache": (host.raw,),
        "copy_blocks": (host.raw, {0: [1]}),
        "swap_blocks": (host.raw, host.raw, {0: 1}),
    }
    methods = [
        a.name
        for a in spec.apis
        if a.support == feature and a.owner == "CacheManager" and a.kind == "method"
    ]
    assert sorted(methods) == sorted(arguments), f"update the argument table for {sorted(methods)}"
    for method in methods:
        s.expect_raises(exceptions, engine.cache_manager, method, *arguments[method])
