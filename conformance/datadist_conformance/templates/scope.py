"""Scope: what a method does outside the use the document restricts it to.

swap_blocks is "仅支持PagedAttention场景使用" (only supported for PagedAttention). The
document names no error for other uses, so a call with a cache from allocate_cache may be
rejected or carried out; either way it must fail cleanly or touch nothing but the block it
names.
"""

from __future__ import annotations

from typing import Any

from ..harness import Layout, Scenario
from ..integrity import (
    bytes_checked_or_untestable,
    carried_out,
    expect_changed_only,
    fill_all,
)
from ..speclib import Clause
from . import template

_LAYOUT = Layout(1, (4, 32), 1)


@template("paged_attention_only", family="negative")
def paged_attention_only(s: Scenario, clause: Clause, data: Any) -> None:
    engine = s.engines.shared()
    span = _LAYOUT.slice_bytes
    for direction in ("swap in", "swap out"):
        device, host = s.caches.allocate(engine, _LAYOUT), s.caches.cpu_cache(_LAYOUT)
        src, dst = (host, device) if direction == "swap in" else (device, host)
        before = fill_all(s, [src, dst], 6)
        call = (
            f"swap_blocks({direction}: a cache from allocate_cache, not a blocks cache, {{0: 1}})"
        )
        s.t.comment(f"{direction} with a cache that is not a blocks cache")
        exceptions = list(clause.params["exceptions"])
        done = carried_out(
            s, exceptions, call, engine.cache_manager, "swap_blocks", src.raw, dst.raw, {0: 1}
        )
        # Carried out, block 1 of the destination may change; rejected, nothing may.
        expect_changed_only(s, [src, dst], before, [(0, 0), (span, 2 * span)], call, done)
    bytes_checked_or_untestable(s, "swap_blocks with caches that are not blocks caches")
