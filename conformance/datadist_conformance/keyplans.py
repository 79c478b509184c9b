"""The model of allocate_cache's cache_keys: which key binds which batch index.

The sentences of allocate_cache that concern keys are one model, checked
together: a key list holds at most the batch size in keys (placeholders count:
each holds its index); a placeholder (req_id UINT64_MAX) binds nothing; trailing
indices may be left out; of repeated keys the last occurrence binds; a key bound
to a live cache cannot be bound again. A :class:`KeyPlan` names keys
abstractly, so that strategies can draw them and templates can turn them into
the target's CacheKeys.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .harness import Scenario

__all__ = ["BOUND", "PLACEHOLDER", "UINT64_MAX", "KeyPlan", "RealKeys"]

UINT64_MAX = 2**64 - 1
_req_ids = itertools.count(40_000)

#: An entry of a plan: a placeholder, the key already bound to another live cache, or a
#: fresh key named by a number (equal numbers: the same key repeated).
PLACEHOLDER = "placeholder"
BOUND = "bound"

Entry = int | str


@dataclass(frozen=True)
class KeyPlan:
    batch: int
    entries: tuple[Entry, ...]

    @property
    def too_many(self) -> bool:
        return len(self.entries) > self.batch

    @property
    def names_bound_key(self) -> bool:
        return BOUND in self.entries

    @property
    def fresh(self) -> list[int]:
        """The fresh keys, each once, in order of first occurrence."""
        return list(dict.fromkeys(e for e in self.entries if isinstance(e, int)))

    def bindings(self) -> dict[int, int]:
        """Fresh key -> the batch index it binds once the allocation succeeds (its last occurrence)."""
        return {e: index for index, e in enumerate(self.entries) if isinstance(e, int)}

    def describe(self) -> str:
        shown = ", ".join(
            "UINT64_MAX" if e == PLACEHOLDER else "BOUND" if e == BOUND else f"k{e}"
            for e in self.entries
        )
        return f"batch size {self.batch}, cache_keys [{shown}]"


@dataclass(frozen=True)
class RealKeys:
    """A plan made of the target's CacheKeys."""

    keys: list[Any]  #: the cache_keys argument
    fresh: dict[int, Any]  #: fresh key number -> its CacheKey


def realize(s: Scenario, plan: KeyPlan, cluster_id: int, bound: Any = None) -> RealKeys:
    """The target's CacheKeys for ``plan``; ``bound`` stands for BOUND."""
    fresh = {n: s.key(cluster_id, next(_req_ids)) for n in plan.fresh}
    placeholder = s.key(cluster_id, UINT64_MAX) if PLACEHOLDER in plan.entries else None
    keys: Sequence[Any] = [
        placeholder if e == PLACEHOLDER else bound if e == BOUND else fresh[int(e)]
        for e in plan.entries
    ]
    return RealKeys(list(keys), fresh)
