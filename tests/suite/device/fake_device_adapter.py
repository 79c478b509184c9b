"""The adapter of llm_datadist_fake_device: the suite's device-memory adapter over fake_acl."""

from __future__ import annotations

import fake_acl

from datadist_conformance.device import DeviceMemoryAdapter
from llm_datadist_ref.conformance_adapter import ReferenceAdapter


class FakeDeviceAdapter(DeviceMemoryAdapter, ReferenceAdapter):
    """Bytes through fake_acl.memcpy; product lines and faults as the reference's adapter."""

    def memcpy(self, dst: int, dest_max: int, src: int, count: int, kind: int) -> int:
        return fake_acl.memcpy(dst, dest_max, src, count, kind)
