"""The peer mode of a run: where the other engine of a linked pair lives.

``inprocess``: both engines in the test process. ``process``: the other engine in a helper
process (see `client`), and at most one engine per process at a time. ``auto`` (the default)
probes the target once: when it refuses to initialize a second engine while one is live, as
the vendor package does, the run uses ``process``.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from ..target import Target

__all__ = ["PEER_MODES", "refuses_second_engine", "resolve_peer_mode"]

PEER_MODES = ("auto", "process", "inprocess")


def resolve_peer_mode(target: Target, requested: str, product_id: str) -> str:
    """``process`` or ``inprocess``, for a requested mode of :data:`PEER_MODES`."""
    if requested not in PEER_MODES:
        raise ValueError(f"unknown peer mode {requested!r}; one of {', '.join(PEER_MODES)}")
    if requested != "auto":
        return requested
    return "process" if refuses_second_engine(target, product_id) else "inprocess"


def refuses_second_engine(target: Target, product_id: str) -> bool:
    """Whether ``init`` of a second engine fails while a first one is initialized.

    A target whose first engine does not start cannot tell; it is probed as one that allows
    several (its tests then report why the engine does not start)."""
    m = target.module
    engines: list[Any] = []
    try:
        for number, role in enumerate(("PROMPT", "DECODER")):
            config = m.LLMConfig()
            config.device_id = 0
            config.enable_cache_manager = True
            options = dict(config.generate_options())
            options.update(target.adapter.init_options(product_id))
            engine = m.LLMDataDist(getattr(m.LLMRole, role), 9990 + number)
            try:
                engine.init(options)
            except Exception:
                return number == 1
            engines.append(engine)
        return False
    finally:
        for engine in reversed(engines):
            with suppress(Exception):
                engine.finalize()
