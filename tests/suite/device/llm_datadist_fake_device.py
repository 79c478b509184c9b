"""The reference as a device target: DEVICE caches expose fake device handles (fake_acl) as
tensor_addrs, so only an adapter that copies through fake_acl.memcpy can reach their bytes."""

import inspect
from collections.abc import Callable
from typing import Any

import fake_acl

from llm_datadist_ref import *  # noqa: F403 - the surface under test
from llm_datadist_ref import Cache, Placement

__conformance_adapter__ = "fake_device_adapter:FakeDeviceAdapter"

_property = inspect.getattr_static(Cache, "tensor_addrs")
assert isinstance(_property, property)
_getter = _property.fget
assert _getter is not None
_host_addresses: Callable[[Any], Any] = _getter


def _tensor_addrs(self: Any) -> list[int]:
    addresses: list[int] = _host_addresses(self)
    if self.cache_desc.placement == Placement.HOST:
        return addresses  # host memory (a host pool, or the caller's for create_cpu_cache)
    return [fake_acl.handle_of(a) for a in addresses]


Cache.tensor_addrs = property(_tensor_addrs)  # type: ignore[assignment, method-assign]
