"""Product gating: on a line without legacy CacheManager support, its methods fail cleanly.

Each method is called with arguments that succeed on a supported line, so that an
implementation without gating cannot pass by rejecting the arguments for another reason.
Where the adapter emulates product lines, the same calls are first shown to succeed on a
supported line. copy_cache, copy_blocks and swap_blocks need caches of the line's own
engine, which an unsupported line cannot allocate: they get the nearest arguments it allows
(caller-owned HOST caches), and for them an implementation could fail for another reason.
"""

from __future__ import annotations

from typing import Any

from ..checks import PreconditionError, not_applicable
from ..harness import DEFAULT_HOST_POOL, Engine, Layout, Scenario
from ..speclib import Clause
from . import template

_LAYOUT = Layout(1, (4, 32), 1)

#: The methods whose arguments are valid on a supported line without caches of its own engine.
_VALID_ANYWHERE = (
    "allocate_cache",
    "allocate_blocks_cache",
    "remove_cache_key",
    "deallocate_cache",
    "deallocate_blocks_cache",
)


def _arguments(s: Scenario, engine: Engine, absent: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    host = s.cpu_cache(_LAYOUT)
    return {
        "allocate_cache": (s.desc(_LAYOUT), [s.key(engine.cluster_id, 1)]),
        "allocate_blocks_cache": (s.desc(_LAYOUT),),
        "remove_cache_key": (s.key(engine.cluster_id, 2),),  # never bound: a no-op
        "deallocate_cache": (absent["cache"],),  # another engine's cache: absent, a no-op
        "deallocate_blocks_cache": (absent["blocks"],),
        "copy_cache": (host.raw, host.raw),
        "copy_blocks": (host.raw, {0: [1]}),
        "swap_blocks": (host.raw, host.raw, {0: 1}),
    }


def _supported_line(s: Scenario, feature: str) -> str | None:
    """A supported product line the adapter can emulate, if it emulates any (and engines may
    share the process: the witnesses need two besides the engine under test)."""
    if not s.ctx.target.has("product_emulation") or s.cross_process:
        return None
    support = next(f for f in s.ctx.spec.feature_sets if f.id == feature).support
    return next((product for product, ok in support.items() if ok), None)


@template("unsupported_on_product", family="products")
def unsupported_on_product(s: Scenario, clause: Clause, data: Any) -> None:
    spec = s.ctx.spec
    feature = clause.params["feature_set"]
    support = next(f for f in spec.feature_sets if f.id == feature).support
    if support[s.ctx.product_id]:
        not_applicable(f"{s.ctx.product_id} supports the {feature} feature set")
    exceptions = list(clause.params["exceptions"])
    supported = _supported_line(s, feature)
    absent: dict[str, Any] = {"cache": s.cpu_cache(_LAYOUT).raw, "blocks": s.cpu_cache(_LAYOUT).raw}
    if supported is not None:
        s.t.comment(f"the same calls succeed on {supported}")
        with s.as_product(supported):
            donor = s.engine(host_pool=DEFAULT_HOST_POOL)
            witness = s.engine(host_pool=DEFAULT_HOST_POOL)
        absent = {
            "cache": s.allocate(donor, _LAYOUT).raw,
            "blocks": s.allocate_blocks(donor, _LAYOUT).raw,
        }
        valid = _arguments(s, witness, absent)
        for method in _VALID_ANYWHERE:
            s.expect_ok(witness.cache_manager, method, *valid[method])
    try:
        engine = s.engine(host_pool=DEFAULT_HOST_POOL)  # both pools: the options are gated too
    except PreconditionError as error:
        if isinstance(error.__cause__, s.exception_types(exceptions)):
            s.t.comment("the engine itself refuses to start with the pool options on this line")
            return
        raise
    arguments = _arguments(s, engine, absent)
    methods = [
        a.name
        for a in spec.apis
        if a.support == feature and a.owner == "CacheManager" and a.kind == "method"
    ]
    assert sorted(methods) == sorted(arguments), f"update the argument table for {sorted(methods)}"
    for method in methods:
        s.expect_raises(exceptions, engine.cache_manager, method, *arguments[method])
