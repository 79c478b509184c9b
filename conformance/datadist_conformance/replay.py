"""Helpers that replay snippets import: the target's adapter and deterministic byte patterns.

A snippet in a report starts with::

    from datadist_conformance import replay
    m, adapter = replay.target("llm_datadist_ref", adapter=None)

and fills caches with ``replay.fill(adapter, cache, tensor_bytes, num_tensors, seed)``,
exactly as the suite did, and ends with the failed check (:mod:`.replaycheck`): it raises
AssertionError with the report's message when the target still misbehaves. A snippet of peer mode ``process`` starts with
``m, adapter, peer = replay.peer_target(...)`` instead: ``peer.<Class>(...)`` builds objects in a
helper process, ``peer.link(...)`` links there, and ``replay.fill(peer, ...)`` writes there.
"""

from __future__ import annotations

import enum
import random
from types import ModuleType
from typing import Any

from .adapter import Adapter
from .peer.client import PeerProcess, Recipes
from .replaycheck import (
    accepted,
    admits,
    allocate_until_failure,
    allocate_until_refused,
    check,
    defaults_to,
    digest,
    expect_ok,
    expect_ok_or_raises,
    expect_raises,
    first_overlap,
    fits,
    has_var_keyword,
    not_replayable,
    parameters_match,
    raised,
    required,
    tensors,
    unreproducible,
)
from .target import load_target

__all__ = [
    "accepted",
    "admits",
    "allocate_until_failure",
    "allocate_until_refused",
    "check",
    "defaults_to",
    "digest",
    "expect_ok",
    "expect_ok_or_raises",
    "expect_raises",
    "fill",
    "first_overlap",
    "fits",
    "has_var_keyword",
    "not_replayable",
    "parameters_match",
    "pattern",
    "peer_target",
    "raised",
    "required",
    "target",
    "tensors",
    "unreproducible",
]


def target(impl: str, adapter: str | None = None) -> tuple[ModuleType, Adapter]:
    """The target module and its adapter, chosen as the suite chose them."""
    loaded = load_target(impl, adapter)
    return loaded.module, loaded.adapter


def peer_target(impl: str, adapter: str | None = None) -> tuple[Any, Adapter, HelperSide]:
    """As :func:`target`, plus the helper process of peer mode ``process``. The module returned
    remembers how each object was built, so that it can be sent to the helper."""
    loaded = load_target(impl, adapter)
    helper = loaded.adapter.peer_process()
    return _Recording(loaded.module, helper.recipes), loaded.adapter, HelperSide(helper)


class HelperSide:
    """``peer`` in a replay: the target's classes in the helper, its links and its bytes."""

    def __init__(self, helper: PeerProcess) -> None:
        self.helper = helper

    def __getattr__(self, class_name: str) -> Any:
        return self.helper.construct(class_name)

    def link(self, decoder: Any, prompt_cluster_id: int, address: tuple[str, int]) -> None:
        self.helper.request("link", decoder, prompt_cluster_id, address)

    def read(self, cache: Any, tensor_index: int, offset: int, size: int) -> bytes:
        return self.helper.read(cache, tensor_index, offset, size)

    def write(self, cache: Any, tensor_index: int, offset: int, data: bytes) -> None:
        self.helper.write(cache, tensor_index, offset, data)


class _Recording:
    """The target module; calling one of its classes remembers the call in ``recipes``."""

    def __init__(self, module: ModuleType, recipes: Recipes) -> None:
        self._module, self._recipes = module, recipes

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)
        if not isinstance(value, type) or issubclass(value, enum.Enum | BaseException):
            return value
        return _Factory(value, name, self._recipes)


class _Factory:
    """A class of the target: calling it builds the object and remembers how."""

    def __init__(self, cls: type, name: str, recipes: Recipes) -> None:
        self._cls, self._name, self._recipes = cls, name, recipes

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        built = self._cls(*args, **kwargs)
        self._recipes.remember(built, self._name, args, kwargs)
        return built

    def __getattr__(self, name: str) -> Any:  # m.Cache.create_cpu_cache
        return getattr(self._cls, name)


def pattern(seed: int, size: int) -> bytes:
    """``size`` pseudo-random bytes, the same for the same seed on every platform."""
    return random.Random(seed).randbytes(size)


def fill(
    adapter: Adapter | HelperSide, cache: Any, tensor_bytes: int, num_tensors: int, seed: int
) -> list[bytes]:
    """Write a distinct pattern into every tensor of ``cache``; returns what was written."""
    written = []
    for tensor in range(num_tensors):
        data = pattern(seed * 1009 + tensor, tensor_bytes)
        adapter.write(cache, tensor, 0, data)
        written.append(data)
    return written
