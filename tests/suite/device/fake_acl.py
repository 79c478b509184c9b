"""A fake device runtime: 'device' memory is host RAM behind opaque handles.

A handle is the host address plus ``DEVICE_BASE``: a non-canonical address on x86-64 and
AArch64, so dereferencing one (as a host pointer) crashes. Only :func:`memcpy`, shaped like
ACL's ``acl.rt.memcpy``, turns handles back into memory, and it checks that the copy kind
matches which side is device memory.
"""

from __future__ import annotations

import ctypes

DEVICE_BASE = 0x5A5A << 48
HOST_TO_HOST, HOST_TO_DEVICE, DEVICE_TO_HOST = 0, 1, 2
ERROR_INVALID_VALUE = 107000  # ACL_ERROR_INVALID_PARAM


def handle_of(host_address: int) -> int:
    return host_address + DEVICE_BASE


def is_handle(address: int) -> bool:
    return address >= DEVICE_BASE


def memcpy(dst: int, dest_max: int, src: int, count: int, kind: int) -> int:
    """Copy ``count`` bytes; a non-zero status for a wrong kind or size (as ACL would)."""
    want_dst, want_src = {
        HOST_TO_HOST: (False, False),
        HOST_TO_DEVICE: (True, False),
        DEVICE_TO_HOST: (False, True),
    }.get(kind, (None, None))
    if (want_dst, want_src) != (is_handle(dst), is_handle(src)) or count > dest_max or count < 0:
        return ERROR_INVALID_VALUE
    ctypes.memmove(_host(dst), _host(src), count)
    return 0


def _host(address: int) -> int:
    return address - DEVICE_BASE if is_handle(address) else address
