"""Type stub of the C++ core (native/). Every method re-validates its arguments.

Trusted input (the one exception, as in the vendor's API): the caller memory of `swap_blocks`
given by address (a side with id < 0: `*_addresses`, `*_tensor_bytes`, `*_num_blocks`). The core
cannot prove that an integer names memory the caller owns, so it checks what it can without
touching it and trusts the rest:

- checked, ValueError: an address below 64 KiB (the null page and what Linux never maps), a
  tensor whose end wraps the address space, a first or last page that is not mapped (mincore),
  a tensor that overlaps this engine's pools or staging ring, two tensors of one side that overlap;
- trusted: every page between the first and the last is mapped and writable, holds memory the
  caller owns, and stays so for the whole call (so: memory of another live object passed by
  address, or freed while the call runs, is the caller's fault, not a core bug).

`Cache.create_cpu_cache` with numpy arrays sidesteps all of this: it keeps the arrays alive and
checks their size, layout and dtype. See impl/README.md, "Trust boundary".
"""

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, type_check_only

from ._cache_manager import CacheManager
from ._types import Cache, CacheDesc

@type_check_only
class _Pybind11Type(type):
    """The metaclass pybind11 gives every class it binds (runtime: pybind11_builtins.pybind11_type).

    Declared so that stubtest sees the stub's classes have a custom metaclass, as the runtime's do.
    """

STATUS_CODES: dict[str, int]

class CoreError(RuntimeError): ...

def set_error_factory(factory: Callable[[int, str, bool], BaseException] | None) -> None: ...
def set_operation_delay(operation: str, ms: int) -> None: ...
def operation_delay(operation: str) -> int: ...
def hold_registry_lock(engine: Engine, ms: int) -> None: ...
def operation_names() -> list[str]: ...
def set_cache_class(cls: type[Cache]) -> None: ...
def copy_blocks_independent(copy_block_info: dict[Any, Any], num_blocks: int) -> bool: ...

class Engine(metaclass=_Pybind11Type):
    def __init__(
        self,
        timeout_ms: int,
        device_pool: tuple[int, ...] | None = None,
        host_pool: tuple[int, ...] | None = None,
        shareable: bool = False,
    ) -> None: ...
    @property
    def timeout_ms(self) -> int: ...
    @property
    def finalized(self) -> bool: ...
    @property
    def staging_bytes(self) -> int: ...
    def has_pool(self, placement: int) -> bool: ...
    def usage(self, placement: int) -> dict[str, int] | None: ...
    def finalize(self) -> None: ...
    def allocate(
        self,
        placement: int,
        num_tensors: int,
        tensor_bytes: int,
        batch_size: int,
        is_blocks: bool,
        keys: Sequence[tuple[int, int, int]],
        blocks_key_model: int | None,
    ) -> tuple[int, list[int]]: ...
    def allocate_cache(
        self, geometry: tuple[int, int, int, int], cache_desc: CacheDesc, manager: CacheManager
    ) -> Cache: ...
    def deallocate(self, cache_id: int, blocks: bool) -> None: ...
    def remove_cache_key(self, req_id: int, prefix_id: int, model_id: int) -> None: ...
    def cache_ids(self) -> list[int]: ...
    def cache_count(self) -> int: ...
    def key_count(self) -> int: ...
    def copy_cache(
        self,
        dst_id: int,
        src_id: int,
        dst_batch_index: int,
        src_batch_index: int,
        offset: int,
        size: int,
    ) -> None: ...
    def copy_blocks(self, cache_id: int, copy_block_info: dict[Any, Any]) -> None: ...
    def swap_blocks(
        self,
        src_id: int,
        src_addresses: Sequence[int] | None,
        src_tensor_bytes: int,
        src_num_blocks: int,
        dst_id: int,
        dst_addresses: Sequence[int] | None,
        dst_tensor_bytes: int,
        dst_num_blocks: int,
        src_to_dst: dict[Any, Any],
    ) -> None:
        """A side with id < 0 is caller memory: trusted as the module docstring states."""
    def pull_cache(
        self,
        remote: Engine,
        key_kind: int,
        a: int,
        b: int,
        c: int,
        dst_id: int,
        batch_index: int,
        size: int,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
    ) -> None: ...
    def pull_blocks(
        self,
        remote: Engine,
        key_kind: int,
        a: int,
        b: int,
        c: int,
        dst_id: int,
        src_blocks: Sequence[int],
        dst_blocks: Sequence[int],
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
    ) -> None: ...
    def push_cache(
        self,
        remote: Engine,
        remote_cache_id: int,
        remote_batch_index: int,
        src_id: int,
        src_batch_index: int,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
    ) -> None: ...
    # -- transfers with an engine of another process (register_remote.cpp) --
    def shared_pool(self, placement: int) -> tuple[int, int] | None: ...
    def pool_region(self, placement: int) -> tuple[int, int] | None: ...
    def lease_source(self, key_kind: int, a: int, b: int, c: int, blocks: bool) -> Lease: ...
    def lease_push_target(self, cache_id: int, batch_index: int) -> Lease: ...
    def commit_lease(self, lease: Lease, tensors: Sequence[int]) -> None: ...
    def quick_pull_via_mailbox(
        self,
        client: MailboxClient,
        key: tuple[int, int, int, int],
        dst_id: int,
        batch_index: int,
        blocks: tuple[Sequence[int], Sequence[int]] | None,
    ) -> bool: ...
    def pull_via_mailbox(
        self,
        client: MailboxClient,
        key_kind: int,
        a: int,
        b: int,
        c: int,
        dst_id: int,
        batch_index: int,
        size: int,
        src_blocks: Sequence[int],
        dst_blocks: Sequence[int],
        blocks: bool,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
        remaining_ms: int,
    ) -> bool: ...
    def push_via_mailbox(
        self,
        client: MailboxClient,
        cache_id: int,
        batch_index: int,
        src_id: int,
        src_batch_index: int,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
        remaining_ms: int,
    ) -> bool: ...
    def pull_from_peer(
        self,
        region: PeerRegion,
        layout: PeerLayout,
        key_kind: int,
        dst_id: int,
        batch_index: int,
        size: int,
        src_blocks: Sequence[int],
        dst_blocks: Sequence[int],
        blocks: bool,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
        remaining_ms: int,
    ) -> list[int]: ...
    def push_to_peer(
        self,
        region: PeerRegion,
        layout: PeerLayout,
        src_id: int,
        src_batch_index: int,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
        remaining_ms: int,
    ) -> list[int]: ...
    def plan_pull_remote(
        self,
        region: PeerRegion,
        layout: PeerLayout,
        key_kind: int,
        dst_id: int,
        batch_index: int,
        size: int,
        src_blocks: Sequence[int],
        dst_blocks: Sequence[int],
        blocks: bool,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
        remaining_ms: int,
    ) -> RemotePlan: ...
    def plan_push_remote(
        self,
        region: PeerRegion,
        layout: PeerLayout,
        src_id: int,
        src_batch_index: int,
        src_tensor_indices: Sequence[int],
        dst_tensor_indices: Sequence[int],
        remaining_ms: int,
    ) -> RemotePlan: ...

class RemotePlan(metaclass=_Pybind11Type):
    @property
    def spans(self) -> list[tuple[int, int, int]]: ...
    @property
    def tensors(self) -> list[int]: ...
    @property
    def total_bytes(self) -> int: ...
    def release(self) -> None: ...

# (num_tensors, tensor_bytes, batch_size, is_blocks, batch_index, tensor_offsets)
PeerLayout = tuple[int, int, int, bool, int, list[int]]

class Lease(metaclass=_Pybind11Type):
    @property
    def cache_id(self) -> int: ...
    @property
    def placement(self) -> int: ...
    @property
    def layout(self) -> PeerLayout: ...

class PeerRegion(metaclass=_Pybind11Type):
    def __init__(self, fd: int, bytes: int) -> None: ...
    @staticmethod
    def remote(base: int, bytes: int) -> PeerRegion: ...
    @property
    def bytes(self) -> int: ...
    @property
    def mapped(self) -> bool: ...

class MailboxServer(metaclass=_Pybind11Type):
    """A listener's end of one peer's mailbox: a thread that leases and commits for it."""

    bytes: ClassVar[int]
    def __init__(self, engine: Engine) -> None: ...
    @property
    def fd(self) -> int: ...
    @property
    def holds_lease(self) -> bool: ...
    def close(self) -> None: ...

class MailboxClient(metaclass=_Pybind11Type):
    """A link's end of a listener's mailbox, with its mappings of the listener's pools."""

    def __init__(
        self, fd: int, bytes: int, label: str, regions: Mapping[int, PeerRegion]
    ) -> None: ...
    def ping(self, timeout_ms: int) -> None:
        """A request that does nothing: the mailbox's bare round trip."""

class PageAllocator(metaclass=_Pybind11Type):
    """A pool's page allocator on its own (tests of its integrity checks)."""

    def __init__(self, capacity_pages: int) -> None: ...
    def allocate(self, count: int) -> int | None: ...
    def release(self, first: int, count: int) -> None: ...
    @property
    def free_pages(self) -> int: ...
    @property
    def capacity(self) -> int: ...
    @property
    def live_runs(self) -> int: ...
    @property
    def free_run_count(self) -> int: ...
    def free_runs(self) -> list[tuple[int, int]]: ...

class bench:  # submodule
    @staticmethod
    def noop() -> None: ...
    @staticmethod
    def noop_like_allocate(
        a: int, b: int, c: int, d: int, e: bool, f: object, g: object
    ) -> tuple[int, list[int]]: ...
    @staticmethod
    def noop_like_allocate_cache(a: object, b: object, c: object, d: object) -> object: ...
    @staticmethod
    def noop_like_deallocate(a: int, b: bool) -> None: ...
    @staticmethod
    def evict_pool(engine: Engine, placement: int) -> bool: ...
    @staticmethod
    def evict_peer_region(region: PeerRegion) -> bool: ...
    class MemcpyBench(metaclass=_Pybind11Type):
        def __init__(self, src_bytes: int, dst_bytes: int) -> None: ...
        def copy_blocks(
            self,
            block_bytes: int,
            src_blocks: Sequence[int],
            dst_blocks: Sequence[int],
            threads: int = 1,
        ) -> float: ...
        def evict(self) -> bool: ...
        @property
        def src_bytes(self) -> int: ...
        @property
        def dst_bytes(self) -> int: ...
