"""The conformance adapter of llm_datadist_alt: product emulation and fault injection."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import ClassVar

from datadist_conformance.adapter import Adapter

from . import _faults
from ._datadist import PRODUCT_OPTION

__all__ = ["AltAdapter"]


class AltAdapter(Adapter):
    """Host-pointer bytes and an in-process peer (inherited), plus products and delays."""

    capabilities: ClassVar[frozenset[str]] = frozenset(
        {"bytes", "peer", "fault_injection", "product_emulation"}
    )

    def init_options(self, product_id: str) -> Mapping[str, str]:
        return {PRODUCT_OPTION: product_id}

    def delay(self, operation: str, milliseconds: int) -> AbstractContextManager[None]:
        return _faults.delay(operation, milliseconds)
