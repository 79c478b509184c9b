"""Scope: what a method does outside the use the document restricts it to.

swap_blocks is "仅支持PagedAttention场景使用" (only supported for PagedAttention). The
document names no error for other uses, so a call with a cache from allocate_cache may be
rejected or carried out; either way it must fail cleanly or touch nothing but the block it
names.
"""

from __future__ import annotations

from typing import Any

from ..harness import Layout, Scenario, describe
from ..speclib import Clause
from . import template

_LAYOUT = Layout(1, (4, 32), 1)


@template("paged_attention_only", family="negative")
def paged_attention_only(s: Scenario, clause: Clause, data: Any) -> None:
    engine = s.engines.shared()
    exceptions = s.checker.exception_types(clause.params["exceptions"])
    span = _LAYOUT.slice_bytes
    for direction in ("swap in", "swap out"):
        device, host = s.caches.allocate(engine, _LAYOUT), s.caches.cpu_cache(_LAYOUT)
        device_before, host_before = s.caches.fill(device, 6), s.caches.fill(host, 7)
        src, dst = (host, device) if direction == "swap in" else (device, host)
        call = (
            f"swap_blocks({direction}: a cache from allocate_cache, not a blocks cache, {{0: 1}})"
        )
        s.t.comment(f"{direction} with a cache that is not a blocks cache")
        try:
            s.t.call(engine.cache_manager, "swap_blocks", src.raw, dst.raw, {0: 1})
            carried_out = True  # then block 1 of the destination may change, nothing else
        except exceptions:
            carried_out = False  # rejected: nothing may change
        except Exception as exc:
            expected = f"raises {' or '.join(clause.params['exceptions'])}, or succeeds"
            s.checker.replay_outcome(clause.params["exceptions"], call, expected, prefix="raised ")
            s.checker.fail(
                call=call, expected=expected, observed=f"raised {describe(exc)}", replayed=True
            )
        for cache, before in ((device, device_before), (host, host_before)):
            # Block 1 of the destination is left out of the comparison when the swap was made.
            skip = (span, 2 * span) if carried_out and cache is dst else (0, 0)
            kept = [bytes(old[: skip[0]] + old[skip[1] :]) for old in before]
            now = [new[: skip[0]] + new[skip[1] :] for new in s.caches.read(cache)]
            for tensor, (old, new) in enumerate(zip(kept, now, strict=True)):
                s.checker.check(
                    old == new,
                    call=call,
                    expected="no byte changes outside block 1 of the destination",
                    observed=f"tensor {tensor} of the {'source' if cache is src else 'destination'} changed",
                    replay=s.caches.bytes_condition(cache, kept, skip=skip),
                )
