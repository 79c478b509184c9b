"""The adapter: what the suite needs from a target that the public API cannot give.

A target is a module with the llm_datadist surface. The adapter adds:

* ``bytes``: reading and writing the bytes of a cache's tensors (default:
  ``tensor_addrs`` are host pointers, read with ctypes);
* ``peer``: linking a DECODER engine to a PROMPT engine for pull tests
  (default: ``LLMClusterInfo`` + ``link_clusters``; with ``--peer process`` the DECODER
  lives in a helper process that :meth:`Adapter.peer_process` starts);
* ``fault_injection``: making an operation slow, for ``sync_kv_timeout``
  clauses (default: not available);
* ``product_emulation``: making the target act as a given product line
  (default: not available; the target is taken to be the line asked for).

Capabilities a target lacks make the clauses that need them ``untestable``,
never ``pass``. A third party subclasses :class:`Adapter` and points the suite at
it with ``--adapter module:attr``, or sets ``__conformance_adapter__ =
"module:attr"`` in its package.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from .peer.client import PeerProcess

__all__ = ["CAPABILITIES", "Adapter", "HostBuffer", "LinkError"]

#: Every capability an adapter may offer.
CAPABILITIES = frozenset({"bytes", "peer", "fault_injection", "product_emulation"})


class LinkError(RuntimeError):
    """The adapter could not link two engines."""


class HostBuffer:
    """Zeroed host memory owned by the suite (the cpu side of swap_blocks)."""

    def __init__(self, nbytes: int) -> None:
        self._storage = ctypes.create_string_buffer(max(nbytes, 1))
        self.nbytes = nbytes

    @property
    def address(self) -> int:
        return ctypes.addressof(self._storage)


class Adapter:
    """The default adapter: host pointers, an in-process peer, no fault injection."""

    #: Capabilities this adapter offers; subclasses extend or restrict it.
    capabilities: ClassVar[frozenset[str]] = frozenset({"bytes", "peer"})

    def __init__(self, module: ModuleType) -> None:
        self.module = module

    @property
    def name(self) -> str:
        return f"{type(self).__module__}:{type(self).__qualname__}"

    # -- product line -------------------------------------------------------------------------

    def init_options(self, product_id: str) -> Mapping[str, str]:
        """Extra options for ``LLMDataDist.init`` so that the engine acts as ``product_id``."""
        return {}

    # -- bytes --------------------------------------------------------------------------------

    def read(self, cache: Any, tensor_index: int, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset`` of tensor ``tensor_index`` of ``cache``."""
        return ctypes.string_at(int(cache.tensor_addrs[tensor_index]) + offset, size)

    def write(self, cache: Any, tensor_index: int, offset: int, data: bytes) -> None:
        """Overwrite bytes at ``offset`` of tensor ``tensor_index`` of ``cache``."""
        ctypes.memmove(int(cache.tensor_addrs[tensor_index]) + offset, data, len(data))

    def host_buffer(self, nbytes: int) -> HostBuffer:
        """Host memory for ``Cache.create_cpu_cache``; keep the object alive while it is used."""
        return HostBuffer(nbytes)

    # -- peer ---------------------------------------------------------------------------------

    def link(self, decoder: Any, prompt_cluster_id: int, prompt_address: tuple[str, int]) -> None:
        """Link the initialised DECODER ``decoder`` to the PROMPT listening on ``prompt_address``."""
        cluster = self.module.LLMClusterInfo()
        cluster.remote_cluster_id = prompt_cluster_id
        cluster.append_remote_ip_info(*prompt_address)
        status, per_cluster = decoder.link_clusters([cluster])
        success = self.module.LLMStatusCode.LLM_SUCCESS
        if status != success or any(code != success for code in per_cluster):
            raise LinkError(f"link_clusters returned {status!r}, {list(per_cluster)!r}")

    def unlink(self, decoder: Any, prompt_cluster_id: int, prompt_address: tuple[str, int]) -> None:
        cluster = self.module.LLMClusterInfo()
        cluster.remote_cluster_id = prompt_cluster_id
        cluster.append_remote_ip_info(*prompt_address)
        decoder.unlink_clusters([cluster])

    # -- peer in another process (peer mode ``process``) --------------------------------------

    def peer_process(self) -> PeerProcess:
        """The helper process that runs the other engine of a linked pair: by default one
        ``python -m datadist_conformance.peer`` per target and adapter, reused by every test
        (it imports this target and this adapter class, which must be importable by name)."""
        from .peer.client import helper_for  # the peer package imports this module

        return helper_for(self.module, self.name)

    def cross_process_options(self) -> Mapping[str, str]:
        """Extra ``init`` options for engines that link with an engine of another process."""
        return {}

    def listen_ip(self, *, helper: bool) -> str:
        """The IP a PROMPT of the suite listens on (``listen_ip_info``): loopback by default; a
        device whose links run over its own NICs returns that NIC's IP."""
        return "127.0.0.1"

    def device_id(self, *, helper: bool) -> int:
        """``LLMConfig.device_id`` of the suite's engines: in the test process, or in the helper
        (an adapter for a device that one process at a time may use returns another id)."""
        return 0

    # -- fault injection ----------------------------------------------------------------------

    def delay(self, operation: str, milliseconds: int) -> AbstractContextManager[None]:
        """A context in which ``operation`` (a CacheManager method name) takes at least ``milliseconds``.

        Adapters that offer ``fault_injection`` implement it (e.g. with @contextmanager).
        """
        raise NotImplementedError("this adapter cannot inject delays")
