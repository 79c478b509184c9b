"""The world of one test example: a :class:`Scenario`, composed of its parts.

Each part has one job: :class:`~.names.TargetNames` builds the target's objects,
:class:`~.engines.Engines` starts, links and finalizes engines, :class:`~.caches.Caches`
allocates caches and reads and writes their bytes, and :class:`~.checks.Checker` performs
calls and turns deviations into :class:`~.checks.ConformanceFailure` (the clause is violated)
or :class:`~.checks.PreconditionError` (the check could not be set up). Every call on the
target goes through the scenario's :class:`~.transcript.Transcript`, for the replay.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .caches import Cache, Caches, Layout
from .checks import Checker, describe, require
from .engines import (
    DEFAULT_DEVICE_POOL,
    DEFAULT_HOST_POOL,
    LINKED_DECODER_TIMEOUT_MS,
    Engine,
    Engines,
    PoolSpec,
)
from .names import TargetNames
from .recorder import Recorder

if TYPE_CHECKING:
    from .context import SuiteContext
    from .speclib import Clause

__all__ = [
    "DEFAULT_DEVICE_POOL",
    "DEFAULT_HOST_POOL",
    "LINKED_DECODER_TIMEOUT_MS",
    "Cache",
    "Engine",
    "Layout",
    "PoolSpec",
    "Scenario",
    "describe",
]


class Scenario:
    """Everything one example does to the target, recorded for replay.

    Templates reach the parts as attributes: ``s.engines`` (engine set-up), ``s.caches``
    (caches and their bytes), ``s.checker`` (checked calls and verdicts); the façade itself
    keeps only what every part and template shares: the target's names, capabilities, the
    adapter's fault injection and the clean-up.
    """

    def __init__(
        self, ctx: SuiteContext, clause: Clause | None = None, recorder: Recorder | None = None
    ) -> None:
        self.ctx = ctx
        self.recorder = recorder or Recorder()
        self.recorder.example()
        self.m = ctx.target.module
        self.adapter = ctx.target.adapter
        self.t = ctx.new_transcript(self.recorder.test_id)
        self.t.bind(self.m, "m")
        self.t.module = self.m  # its classes render as m.<name>
        self.t.bind(self.adapter, "adapter")
        self.cross_process = ctx.peer_mode == "process"
        self.names = TargetNames(self.t, self.m, ctx.itemsize, cross_process=self.cross_process)
        self.checker = Checker(self.t, self.m, clause)
        self.engines = Engines(ctx.target, self.names, ctx.product_id)
        self.caches = Caches(ctx.target, self.names, self.checker)

    def __enter__(self) -> Scenario:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Unlink and finalize every engine, newest first; never raises."""
        self.engines.close()

    # -- the target's names (see TargetNames) -----------------------------------------------------

    def enum(self, enum_name: str, member: str) -> Any:
        return self.names.enum(enum_name, member)

    def new(self, class_name: str, *args: Any, **kwargs: Any) -> Any:
        """``m.<class_name>(*args, **kwargs)``, recorded."""
        return self.names.new(class_name, *args, **kwargs)

    def layout(self, num_tensors: int, shape: Sequence[int], dtype: str = "DT_UINT8") -> Layout:
        return self.names.layout(num_tensors, shape, dtype)

    def desc(self, layout: Layout, dtype: str = "DT_UINT8", placement: str = "DEVICE") -> Any:
        return self.names.desc(layout, dtype, placement)

    def key(self, cluster_id: int, req_id: int, model_id: int = 0) -> Any:
        """A CacheKey as the seed builds one; model_id (vendor surface) only when it is not 0."""
        return self.names.key(cluster_id, req_id, model_id)

    # -- the adapter ------------------------------------------------------------------------------

    def require(self, capability: str, what: str) -> None:
        """End the check as untestable when the adapter lacks ``capability``: a check that
        needs it never passes silently without it."""
        require(self.ctx.target, capability, what)

    @contextmanager
    def delayed(self, operation: str, milliseconds: int) -> Iterator[None]:
        """The adapter's fault injection, recorded as a ``with`` block."""
        self.require("fault_injection", "delaying an operation")
        self.t.begin_block(f"with adapter.delay({operation!r}, {milliseconds}):")
        try:
            with self.adapter.delay(operation, milliseconds):
                yield
        finally:
            self.t.end_block()
