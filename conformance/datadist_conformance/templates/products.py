"""Product gating: on a line without legacy CacheManager support, its methods fail cleanly.

A raise on the unsupported line shows gating only when the same call would succeed on a
supported line; otherwise an implementation without gating passes by rejecting the arguments
for another reason. So a call counts as evidence when its arguments are valid by the document
alone (a fresh engine's ``allocate_cache`` of a valid desc, ``remove_cache_key`` of a key never
bound), or when the adapter emulates a supported line and the same call, built the same way,
succeeds there (the witness). Every call must raise either way: nothing succeeds on such a line.

The pool options are gated too: engines are started with each option alone, both and none;
each either is refused by ``init`` with one of the clause's exceptions, or starts and serves no
call. A method no call gave evidence for makes the clause untestable, with the reason. The
clause of the methods that need caches of the line's own engine (copy_cache, copy_blocks,
swap_blocks; the line cannot allocate any) says so in the spec (``valid_arguments: false``):
they get the nearest arguments the line allows (caller-owned HOST caches), and are untestable
everywhere unless the target accepts those on a supported line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..checks import PreconditionError, not_applicable, untestable, untestable_everywhere
from ..harness import DEFAULT_DEVICE_POOL, DEFAULT_HOST_POOL, Engine, Layout, PoolSpec, Scenario
from ..peer.client import PeerError
from ..speclib import Clause
from . import template

_LAYOUT = Layout(1, (4, 32), 1)

Pools = tuple[PoolSpec | None, PoolSpec | None]  #: (mem_pool_cfg, host_mem_pool_cfg)

#: The engines started on the unsupported line (and, with emulation, on a supported one).
POOLS: dict[str, Pools] = {
    "both pool options": (DEFAULT_DEVICE_POOL, DEFAULT_HOST_POOL),
    "mem_pool_cfg alone": (DEFAULT_DEVICE_POOL, None),
    "host_mem_pool_cfg alone": (None, DEFAULT_HOST_POOL),
    "no pool option": (None, None),
}

#: Every method the calls below cover.
METHODS = frozenset(
    {
        "allocate_cache",
        "allocate_blocks_cache",
        "remove_cache_key",
        "deallocate_cache",
        "deallocate_blocks_cache",
        "copy_cache",
        "copy_blocks",
        "swap_blocks",
    }
)


@dataclass(frozen=True)
class Call:
    method: str
    args: tuple[Any, ...]
    by_document: bool  #: valid on a supported line by the document alone (no witness needed)


@dataclass(frozen=True)
class Absent:
    """Caches no engine under test holds: another engine's where one can be made, else HOST
    caches over suite memory (then only a witness shows deallocating them is valid)."""

    cache: Any
    blocks: Any
    host: Any  #: a caller-owned HOST cache, the nearest argument the copies can get


def available(method: str, pools: Pools) -> bool:
    """Whether ``method`` gets a call on an engine with ``pools``."""
    device, host = pools
    if method == "allocate_blocks_cache":
        return device is not None
    if method == "allocate_cache":
        return device is not None or host is not None
    return True


def calls(s: Scenario, engine: Engine, pools: Pools, absent: Absent) -> list[Call]:
    """The calls made on ``engine`` (started with ``pools``): valid on a supported line where
    ``by_document``, the nearest the line allows otherwise."""
    device, host = pools
    key = s.key(engine.cluster_id, 1)
    made = [
        Call("remove_cache_key", (s.key(engine.cluster_id, 2),), True),  # never bound: a no-op
        Call("deallocate_cache", (absent.cache,), False),  # absent: a no-op
        Call("deallocate_blocks_cache", (absent.blocks,), False),
        Call("copy_cache", (absent.host, absent.host), False),
        Call("copy_blocks", (absent.host, {0: [1]}), False),
        Call("swap_blocks", (absent.host, absent.host, {0: 1}), False),
    ]
    if device is not None:
        made += [
            Call("allocate_cache", (s.desc(_LAYOUT), [key]), True),
            Call("allocate_blocks_cache", (s.desc(_LAYOUT),), True),
        ]
    elif host is not None:  # which pool a HOST desc draws on is undocumented: witness needed
        made.append(Call("allocate_cache", (s.desc(_LAYOUT, placement="HOST"), [key]), False))
    return made


def _succeeds(s: Scenario, engine: Engine, call: Call) -> bool:
    try:
        s.t.call(engine.cache_manager, call.method, *call.args)
    except PeerError:
        raise
    except Exception:
        s.t.comment(f"{call.method} raised on the supported line: its raise below shows nothing")
        return False
    return True


def _supported_line(s: Scenario, feature: str) -> str | None:
    """A supported product line the adapter can emulate, if it emulates any. With one engine
    per process the witness runs first and is finalized when the engine under test starts."""
    if not s.ctx.target.has("product_emulation"):
        return None
    support = next(f for f in s.ctx.spec.feature_sets if f.id == feature).support
    return next((product for product, ok in support.items() if ok), None)


def _absent(s: Scenario, supported: str | None) -> Absent:
    """Caches of another engine (a donor on ``supported``), else caller-owned HOST caches.

    With one engine per process the donor is finalized when the next engine starts, so its
    cache is released at once: deallocating a released cache is a no-op by the document."""
    host = s.caches.cpu_cache(_LAYOUT).raw
    if supported is None:
        return Absent(s.caches.cpu_cache(_LAYOUT).raw, s.caches.cpu_cache(_LAYOUT).raw, host)
    with s.engines.as_product(supported):
        donor = s.engines.start(host_pool=DEFAULT_HOST_POOL)
    if s.cross_process:
        released = s.caches.allocate(donor, _LAYOUT).raw
        s.checker.expect_ok(donor.cache_manager, "deallocate_cache", released)
        return Absent(released, s.caches.cpu_cache(_LAYOUT).raw, host)
    blocks = s.caches.allocate_blocks(donor, _LAYOUT).raw
    return Absent(s.caches.allocate(donor, _LAYOUT).raw, blocks, host)


def _witnessed(
    s: Scenario, supported: str, label: str, methods: Sequence[str], absent: Absent
) -> set[str]:
    """The methods whose call succeeds on ``supported`` with the pools of ``label``."""
    pools = POOLS[label]
    s.t.comment(f"{label}: the same calls on {supported}")
    with s.engines.as_product(supported):
        witness = s.engines.start(device_pool=pools[0], host_pool=pools[1])
    shown = set()
    for call in calls(s, witness, pools, absent):
        if call.method not in methods:
            continue
        if call.by_document:
            s.checker.expect_ok(witness.cache_manager, call.method, *call.args)
        elif not _succeeds(s, witness, call):
            continue
        shown.add(call.method)
    return shown


def _start(s: Scenario, label: str, exceptions: list[str]) -> Engine | None:
    """An engine of this line with the pools of ``label``, or None when init refuses it."""
    device, host = POOLS[label]
    try:
        return s.engines.start(device_pool=device, host_pool=host)
    except PreconditionError as error:
        if isinstance(error.__cause__, s.checker.exception_types(exceptions)):
            s.t.comment(f"{label}: the engine refuses to start on this line")
            return None
        raise


def _check(
    s: Scenario, methods: Sequence[str], exceptions: list[str], supported: str | None
) -> set[str]:
    """Every call on this line raises; returns the methods the raises are evidence for."""
    absent = _absent(s, supported)
    evidence: set[str] = set()
    refused: set[str] = set()
    for label, pools in POOLS.items():
        shown = _witnessed(s, supported, label, methods, absent) if supported else set()
        engine = _start(s, label, exceptions)
        if engine is None:
            refused.add(label)
            continue
        s.t.comment(f"{label}: the engine started on this line")
        for call in calls(s, engine, pools, absent):
            if call.method in methods:
                s.checker.expect_raises(exceptions, engine.cache_manager, call.method, *call.args)
                if call.by_document or call.method in shown:
                    evidence.add(call.method)
    for method in methods:
        if all(label in refused for label, pools in POOLS.items() if available(method, pools)):
            s.t.comment(f"{method}: every engine that could serve it refused to start")
            evidence.add(method)
    return evidence


def _why(s: Scenario, supported: str | None, valid_arguments: bool) -> str:
    if supported is not None:
        where = f"on {supported} the same calls raised too"
    else:
        where = f"no supported line can be shown beside it (the adapter {s.adapter.name} lacks product_emulation)"
    if valid_arguments:
        return (
            f"their arguments are valid on a supported line only if a witness shows it, and {where}"
        )
    return (
        "the document gives them no arguments an unsupported line can build (every call it "
        "describes needs a cache allocated by this line's engine, and allocation is gated); "
        f"they were called with caller-owned HOST caches and raised, but {where}, so the raise "
        "shows no gating"
    )


@template("unsupported_on_product", family="products")
def unsupported_on_product(s: Scenario, clause: Clause, data: Any) -> None:
    feature = clause.params["feature_set"]
    support: Mapping[str, bool] = next(
        f for f in s.ctx.spec.feature_sets if f.id == feature
    ).support
    if support[s.ctx.product_id]:
        not_applicable(f"{s.ctx.product_id} supports the {feature} feature set")
    methods = list(clause.params["methods"])
    assert set(methods) <= METHODS, f"no calls for {sorted(set(methods) - METHODS)}"
    supported = _supported_line(s, feature)
    evidence = _check(s, methods, list(clause.params["exceptions"]), supported)
    missing = [m for m in methods if m not in evidence]
    if not missing:
        return
    valid_arguments = clause.params.get("valid_arguments", True)
    reason = f"{', '.join(missing)} on {s.ctx.product_id}: {_why(s, supported, valid_arguments)}"
    if valid_arguments:
        untestable(reason)
    untestable_everywhere(reason)
