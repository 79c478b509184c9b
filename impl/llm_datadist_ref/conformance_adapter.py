"""The conformance suite's adapter for this package (registered as a
``datadist_conformance.adapters`` entry point): host pointers and an in-process
peer as for any target, plus product-line emulation and fault injection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import ClassVar

from datadist_conformance.adapter import Adapter

from . import testing
from ._products import PRODUCT_OPTION
from ._remote import TRANSPORT_OPTION

__all__ = ["ReferenceAdapter"]


class ReferenceAdapter(Adapter):
    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"bytes", "peer", "fault_injection", "product_emulation"}
    )

    def init_options(self, product_id: str) -> Mapping[str, str]:
        """Emulate ``product_id`` through the reference's init option. The suite's peers live in
        its own process, so its engines open no sockets (parallel runs reuse addresses)."""
        return {PRODUCT_OPTION: product_id, TRANSPORT_OPTION: "in-process"}

    def cross_process_options(self) -> Mapping[str, str]:
        """Engines that link across processes listen and link through sockets and shared memory:
        the suite's helper process is on this host. (``auto`` would also open a Mooncake
        endpoint per PROMPT where the extra is installed, about 1 s per engine to tear down.)"""
        return {TRANSPORT_OPTION: "shm"}

    @contextmanager
    def delay(self, operation: str, milliseconds: int) -> Iterator[None]:
        with testing.delay(operation, milliseconds):
            yield
