"""An adapter for targets whose cache addresses are device memory (an NPU's, not the host's).

The default adapter reads and writes tensor bytes with ctypes at ``tensor_addrs``: right for a
CPU target, a crash for device addresses. :class:`DeviceMemoryAdapter` never dereferences a
cache address: it moves bytes through a staging buffer in host memory with a host<->device copy
function that a subclass supplies, shaped like ACL's ``acl.rt.memcpy(dst, dest_max, src, count,
kind)`` (return 0 on success)::

    import acl
    from datadist_conformance.device import DeviceMemoryAdapter

    class AscendAdapter(DeviceMemoryAdapter):
        def memcpy(self, dst, dest_max, src, count, kind):
            return acl.rt.memcpy(dst, dest_max, src, count, kind)

With ``--peer process`` the DECODER's bytes are reached through the helper process, which
uses the same adapter class there.
"""

from __future__ import annotations

import ctypes
from typing import Any

from .adapter import Adapter

__all__ = [
    "MEMCPY_DEVICE_TO_HOST",
    "MEMCPY_HOST_TO_DEVICE",
    "MEMCPY_HOST_TO_HOST",
    "DeviceMemoryAdapter",
]

#: ACL's copy kinds (aclrtMemcpyKind).
MEMCPY_HOST_TO_HOST = 0
MEMCPY_HOST_TO_DEVICE = 1
MEMCPY_DEVICE_TO_HOST = 2


class DeviceMemoryAdapter(Adapter):
    """Tensor bytes through :meth:`memcpy`; HOST caches (``cache_desc.placement``) are host memory."""

    def memcpy(self, dst: int, dest_max: int, src: int, count: int, kind: int) -> int:
        """Copy ``count`` bytes from ``src`` to ``dst`` (``kind``: the MEMCPY_* constants); 0 on
        success. Subclasses call their device runtime (``acl.rt.memcpy``, torch_npu)."""
        raise NotImplementedError("a DeviceMemoryAdapter needs a memcpy (e.g. acl.rt.memcpy)")

    def read(self, cache: Any, tensor_index: int, offset: int, size: int) -> bytes:
        staging = ctypes.create_string_buffer(max(size, 1))
        source = int(cache.tensor_addrs[tensor_index]) + offset
        kind = MEMCPY_HOST_TO_HOST if self._on_host(cache) else MEMCPY_DEVICE_TO_HOST
        self._copy(ctypes.addressof(staging), size, source, size, kind)
        return staging.raw[:size]

    def write(self, cache: Any, tensor_index: int, offset: int, data: bytes) -> None:
        staging = ctypes.create_string_buffer(bytes(data), max(len(data), 1))
        target = int(cache.tensor_addrs[tensor_index]) + offset
        kind = MEMCPY_HOST_TO_HOST if self._on_host(cache) else MEMCPY_HOST_TO_DEVICE
        self._copy(target, len(data), ctypes.addressof(staging), len(data), kind)

    def _on_host(self, cache: Any) -> bool:
        placement = getattr(cache.cache_desc, "placement", None)
        return getattr(placement, "name", None) == "HOST"

    def _copy(self, dst: int, dest_max: int, src: int, count: int, kind: int) -> None:
        status = self.memcpy(dst, dest_max, src, count, kind)
        if status != 0:
            raise RuntimeError(f"memcpy(kind={kind}, {count} bytes) returned {status}")
