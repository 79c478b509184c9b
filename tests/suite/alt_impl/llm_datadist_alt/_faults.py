"""Fault injection for the conformance adapter: make a CacheManager method slow, in this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["delay", "sleep_for"]

_lock = threading.Lock()
_delays: dict[str, list[int]] = {}


@contextmanager
def delay(operation: str, milliseconds: int) -> Iterator[None]:
    """While active, CacheManager.<operation> sleeps ``milliseconds`` before checking its deadline."""
    with _lock:
        _delays.setdefault(operation, []).append(milliseconds)
    try:
        yield
    finally:
        with _lock:
            stack = _delays[operation]
            stack.remove(milliseconds)
            if not stack:
                del _delays[operation]


def sleep_for(operation: str) -> None:
    with _lock:
        milliseconds = sum(_delays.get(operation, ()))
    if milliseconds > 0:
        time.sleep(milliseconds / 1000)
