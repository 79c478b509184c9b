"""The world of one test example: engines, caches, byte access and the transcript.

A :class:`Scenario` creates engines the way users do (LLMConfig ->
generate_options -> LLMDataDist.init -> cache_manager), performs every call on
the target through its :class:`~.transcript.Transcript`, and turns deviations
into :class:`~.checks.ConformanceFailure` (the clause is violated) or
:class:`~.checks.PreconditionError` (the check could not be set up).
"""

from __future__ import annotations

import builtins
import itertools
import json
import math
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from . import replay
from .adapter import HostBuffer
from .checks import ConformanceFailure, PreconditionError, untestable
from .peer.client import PeerError, PeerProcess, Recipes, remote_peer
from .recorder import Recorder

if TYPE_CHECKING:
    from .context import SuiteContext
    from .speclib import Clause

__all__ = [
    "DEFAULT_DEVICE_POOL",
    "DEFAULT_HOST_POOL",
    "Cache",
    "Engine",
    "Layout",
    "PoolSpec",
    "Scenario",
    "describe",
]

_ids = itertools.count(1)


@dataclass(frozen=True)
class PoolSpec:
    """A memory-pool configuration: the JSON that mem_pool_cfg / host_mem_pool_cfg take."""

    memory_size: int
    page_shift: int | None = None

    def json(self) -> str:
        fields: dict[str, int] = {"memory_size": self.memory_size}
        if self.page_shift is not None:
            fields["page_shift"] = self.page_shift
        return json.dumps(fields)

    @property
    def page_size(self) -> int:
        return 1 << (16 if self.page_shift is None else self.page_shift)


#: The pools most tests run on: roomy, with small pages so that many small caches fit.
DEFAULT_DEVICE_POOL = PoolSpec(16 << 20, 12)
DEFAULT_HOST_POOL = PoolSpec(16 << 20, 12)
#: sync_kv_timeout (ms) of the DECODERs the suite links. In peer mode ``process`` a pull crosses
#: processes, and on a loaded two-core machine it can outlast the 1000 ms default the vendor
#: documents; no clause the suite checks with a linked DECODER is about the timeout.
LINKED_DECODER_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Layout:
    """How a cache's bytes are arranged: num_tensors tensors, batch slices along dimension 0."""

    num_tensors: int
    shape: tuple[int, ...]
    itemsize: int

    @property
    def tensor_bytes(self) -> int:
        return math.prod(self.shape) * self.itemsize

    @property
    def batch(self) -> int:
        return self.shape[0]

    @property
    def slice_bytes(self) -> int:
        """Bytes of one batch index (one block of a blocks cache) in one tensor."""
        return self.tensor_bytes // self.batch


@dataclass
class Cache:
    """A cache of the target with the layout the suite gave it."""

    raw: Any
    layout: Layout


@dataclass
class Engine:
    """An initialised LLMDataDist and its CacheManager."""

    datadist: Any
    cache_manager: Any
    role: str
    cluster_id: int
    address: tuple[str, int]
    linked_to: list[Engine] = field(default_factory=list)
    peer: PeerProcess | None = None  #: the helper process it lives in; None: this process
    closed: bool = False


class Scenario:
    """Everything one example does to the target, recorded for replay.

    In peer mode ``process`` the DECODER of a linked pair lives in the helper process, and
    each process holds at most one engine at a time: starting an engine finalizes the live
    one of the same process first (templates never use an engine after starting the next).
    """

    def __init__(
        self, ctx: SuiteContext, clause: Clause | None = None, recorder: Recorder | None = None
    ) -> None:
        self.ctx = ctx
        self.clause = clause
        self.recorder = recorder or Recorder()
        self.recorder.example()
        self.m = ctx.target.module
        self.adapter = ctx.target.adapter
        self.t = ctx.new_transcript(self.recorder.test_id)
        self.t.bind(self.m, "m")
        self.t.bind(self.adapter, "adapter")
        self.engines: list[Engine] = []
        self._buffers: list[HostBuffer] = []
        self._shared: Engine | None = None
        self.cross_process = ctx.peer_mode == "process"
        self.recipes = Recipes()  #: how target objects were built, to send them to the helper
        self._product = ctx.product_id  #: the line engines start as (see as_product)

    def __enter__(self) -> Scenario:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- target names -----------------------------------------------------------------------------

    def enum(self, enum_name: str, member: str) -> Any:
        value = getattr(getattr(self.m, enum_name), member)
        self.t.bind(value, f"m.{enum_name}.{member}")
        return value

    def new(self, class_name: str, *args: Any, **kwargs: Any) -> Any:
        """``m.<class_name>(*args, **kwargs)``, recorded."""
        value = self.t.invoke(f"m.{class_name}", getattr(self.m, class_name), args, kwargs)
        if self.cross_process:
            self.recipes.remember(value, class_name, args, kwargs)
        return value

    def exception_types(self, names: Sequence[str]) -> tuple[type[BaseException], ...]:
        return tuple(
            self.m.LLMException if n == "LLMException" else getattr(builtins, n) for n in names
        )

    # -- engines ----------------------------------------------------------------------------------

    def engine(
        self,
        role: str = "PROMPT",
        *,
        device_pool: PoolSpec | None = DEFAULT_DEVICE_POOL,
        host_pool: PoolSpec | None = None,
        sync_kv_timeout: int | None = None,
        peer: PeerProcess | None = None,
    ) -> Engine:
        """An initialised engine in CacheManager mode, in this process or in the helper ``peer``;
        a failure here is a PreconditionError."""
        self._make_room(peer)
        number = next(_ids)
        cluster_id = 7000 + number
        address = (self.adapter.listen_ip(helper=peer is not None), self._port(number))
        construct = self._constructor(peer)
        try:
            config = construct("LLMConfig")
            self.t.set(config, "device_id", self.adapter.device_id(helper=peer is not None))
            self.t.set(config, "enable_cache_manager", True)
            if device_pool is not None:
                self.t.set(config, "mem_pool_cfg", device_pool.json())
            if host_pool is not None:
                self.t.set(config, "host_mem_pool_cfg", host_pool.json())
            if sync_kv_timeout is not None:
                self.t.set(config, "sync_kv_timeout", sync_kv_timeout)
            if role == "PROMPT":
                self.t.set(config, "listen_ip_info", f"{address[0]}:{address[1]}")
            options = self._options(config)
            datadist = construct("LLMDataDist", self.enum("LLMRole", role), cluster_id)
            engine = Engine(datadist, None, role, cluster_id, address, peer=peer)
            self.engines.append(engine)
            self.t.call(datadist, "init", options)
            engine.cache_manager = self.t.get(datadist, "cache_manager", prefix="cm")
        except PeerError:
            raise
        except Exception as exc:
            where = " in the peer process" if peer is not None else ""
            raise PreconditionError(
                f"starting a {role} engine{where}", describe(exc), self.t.source()
            ) from exc
        return engine

    def _options(self, config: Any) -> dict[str, str]:
        """generate_options() of ``config``, plus the adapter's options, recorded."""
        options = dict(self.t.call(config, "generate_options"))
        options.update(self.adapter.init_options(self._product))
        if self.cross_process:
            options.update(self.adapter.cross_process_options())
        literal = self.t.render(options)  # before the dict gets a name
        self.t.add(f"{self.t.name(options, 'options')} = {literal}")
        return options

    def _constructor(self, peer: PeerProcess | None) -> Any:
        """``construct(class_name, *args)``: a target object here, or in the helper ``peer``."""
        if peer is None:
            return self.new

        def construct(class_name: str, *args: Any) -> Any:
            return self.t.invoke(f"peer.{class_name}", peer.construct(class_name), args)

        return construct

    def _port(self, number: int) -> int:
        """A listening port: a fixed one per engine in process (nothing listens), a free one
        from the kernel when engines link across processes."""
        if not self.cross_process:
            return 20000 + number % 30000
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def _make_room(self, peer: PeerProcess | None) -> None:
        """In peer mode ``process``: finalize the live engine of the process an engine starts in."""
        if not self.cross_process:
            return
        for engine in self.engines:
            if engine.peer is peer and not engine.closed:
                self.t.comment("one engine per process: the previous one is finalized first")
                self._finalize(engine)

    def unstarted_engine(self, config: Any) -> tuple[Any, dict[str, str]]:
        """A PROMPT LLMDataDist and the options of ``config`` (in CacheManager mode), not yet
        initialised: for checks that ``init`` rejects them. It is finalized at close."""
        self._make_room(None)
        number = next(_ids)
        try:
            self.t.set(config, "device_id", self.adapter.device_id(helper=False))
            self.t.set(config, "enable_cache_manager", True)
            options = self._options(config)
            datadist = self.new("LLMDataDist", self.enum("LLMRole", "PROMPT"), 7000 + number)
        except Exception as exc:
            raise PreconditionError(
                "configuring an engine", describe(exc), self.t.source()
            ) from exc
        self.engines.append(Engine(datadist, None, "PROMPT", 7000 + number, ("", 0)))
        return datadist, options

    @contextmanager
    def as_product(self, product_id: str) -> Iterator[None]:
        """Engines started inside emulate ``product_id`` (needs the product_emulation capability)."""
        self._product, before = product_id, self._product
        self.t.comment(f"engines started as product line {product_id}")
        try:
            yield
        finally:
            self._product = before

    def shared_engine(self, *, sync_kv_timeout: int | None = None) -> Engine:
        """One PROMPT engine with the default pools, reused by every call of this scenario.

        ``sync_kv_timeout`` applies when this call creates it.
        """
        if self._shared is None or self._shared.closed:
            self._shared = self.engine(host_pool=DEFAULT_HOST_POOL, sync_kv_timeout=sync_kv_timeout)
        return self._shared

    def decoder_linked_to(self, prompt: Engine, **engine_options: Any) -> Engine:
        """A DECODER engine linked to ``prompt`` through the adapter (in peer mode ``process``,
        a DECODER in the helper process, linked there by the helper's adapter)."""
        self.require("peer", "linking a DECODER to a PROMPT")
        peer = self._helper() if self.cross_process else None
        engine_options.setdefault("sync_kv_timeout", LINKED_DECODER_TIMEOUT_MS)
        decoder = self.engine("DECODER", peer=peer, **engine_options)
        link = f"{self.t.render(decoder.datadist)}, {prompt.cluster_id}, {prompt.address!r}"
        self.t.add(f"{'peer' if peer else 'adapter'}.link({link})")
        try:
            if peer is not None:
                peer.request("link", decoder.datadist, prompt.cluster_id, prompt.address)
            else:
                self.adapter.link(decoder.datadist, prompt.cluster_id, prompt.address)
        except PeerError:
            raise
        except Exception as exc:  # LinkError, or whatever the target raised
            raise PreconditionError(
                "linking a DECODER to the PROMPT", describe(exc), self.t.source()
            ) from exc
        decoder.linked_to.append(prompt)
        return decoder

    def _helper(self) -> PeerProcess:
        try:
            helper = self.adapter.peer_process()
        except PeerError:
            raise
        except Exception as exc:
            raise PreconditionError(
                "starting the peer process", describe(exc), self.t.source()
            ) from exc
        helper.recipes = self.recipes
        return helper

    def _finalize(self, engine: Engine) -> None:
        """Unlink ``engine`` from its PROMPTs and finalize it; never raises."""
        for prompt in engine.linked_to:
            with suppress(Exception):  # cleanup goes on whatever the target does
                if engine.peer is not None:
                    engine.peer.request(
                        "unlink", engine.datadist, prompt.cluster_id, prompt.address
                    )
                else:
                    self.adapter.unlink(engine.datadist, prompt.cluster_id, prompt.address)
        with suppress(Exception):
            engine.datadist.finalize()
        engine.closed = True

    def close(self) -> None:
        """Unlink and finalize every engine, newest first; never raises."""
        for engine in reversed(self.engines):
            if not engine.closed:
                self._finalize(engine)
        for helper in {id(e.peer): e.peer for e in self.engines if e.peer is not None}.values():
            with suppress(Exception):
                helper.forget()
        self.engines.clear()
        self.recipes.clear()

    # -- caches -----------------------------------------------------------------------------------

    def layout(self, num_tensors: int, shape: Sequence[int], dtype: str = "DT_UINT8") -> Layout:
        return Layout(num_tensors, tuple(shape), self.ctx.itemsize(dtype))

    def desc(self, layout: Layout, dtype: str = "DT_UINT8", placement: str = "DEVICE") -> Any:
        return self.new(
            "CacheDesc",
            layout.num_tensors,
            list(layout.shape),
            self.enum("DataType", dtype),
            self.enum("Placement", placement),
        )

    def key(self, cluster_id: int, req_id: int, model_id: int = 0) -> Any:
        """A CacheKey as the seed builds one; model_id (vendor surface) only when it is not 0."""
        if model_id == 0:
            return self.new("CacheKey", cluster_id, req_id)
        return self.new("CacheKey", cluster_id, req_id, model_id)

    def allocate(
        self,
        engine: Engine,
        layout: Layout,
        keys: Sequence[Any] = (),
        *,
        dtype: str = "DT_UINT8",
        placement: str = "DEVICE",
        checked: bool = False,
    ) -> Cache:
        """allocate_cache; a failure is a PreconditionError unless ``checked`` (then a failure)."""
        desc = self.desc(layout, dtype, placement)
        call = self.expect_ok if checked else self.setup
        return Cache(call(engine.cache_manager, "allocate_cache", desc, list(keys)), layout)

    def allocate_blocks(
        self,
        engine: Engine,
        layout: Layout,
        blocks_key: Any = None,
        *,
        dtype: str = "DT_UINT8",
        checked: bool = False,
    ) -> Cache:
        desc = self.desc(layout, dtype, "DEVICE")
        call = self.expect_ok if checked else self.setup
        args = (desc,) if blocks_key is None else (desc, blocks_key)
        return Cache(call(engine.cache_manager, "allocate_blocks_cache", *args), layout)

    def require(self, capability: str, what: str) -> None:
        """End the check as untestable when the adapter lacks ``capability``: a check that
        needs it never passes silently without it."""
        if not self.ctx.target.has(capability):
            untestable(f"{what} needs the adapter's {capability!r} capability, which "
                       f"{self.adapter.name} lacks")  # fmt: skip

    def cpu_cache(self, layout: Layout, dtype: str = "DT_UINT8") -> Cache:
        """A HOST cache over suite-owned memory (Cache.create_cpu_cache), for swap_blocks."""
        self.require("bytes", "a HOST cache over suite-owned memory")
        addresses = []
        for _ in range(layout.num_tensors):
            buffer = self.adapter.host_buffer(layout.tensor_bytes)
            self._buffers.append(buffer)
            name = self.t.name(buffer, "buf")
            self.t.add(f"{name} = adapter.host_buffer({layout.tensor_bytes})")
            self.t.bind(buffer.address, f"{name}.address")
            addresses.append(buffer.address)
        desc = self.desc(layout, dtype, "HOST")
        cache_class = self.m.Cache
        raw = self.t.invoke(
            "m.Cache.create_cpu_cache", cache_class.create_cpu_cache, (desc, addresses)
        )
        return Cache(raw, layout)

    # -- bytes ------------------------------------------------------------------------------------

    def fill(self, cache: Cache, seed: int) -> list[bytearray]:
        """Write a distinct pattern into every tensor; returns the model of its bytes."""
        self.require("bytes", "writing tensor bytes")
        layout = cache.layout
        writer = "peer" if remote_peer(cache.raw) else "adapter"
        self.t.add(
            f"replay.fill({writer}, {self.t.render(cache.raw)}, {layout.tensor_bytes}, {layout.num_tensors}, {seed})"
        )
        try:
            written = replay.fill(
                self._bytes(cache.raw), cache.raw, layout.tensor_bytes, layout.num_tensors, seed
            )
        except Exception as exc:
            raise PreconditionError(
                "writing a cache through the adapter", describe(exc), self.t.source()
            ) from exc
        return [bytearray(data) for data in written]

    def read(self, cache: Cache) -> list[bytes]:
        """The current bytes of every tensor of ``cache``."""
        self.require("bytes", "reading tensor bytes")
        layout = cache.layout
        access = self._bytes(cache.raw)
        try:
            return [
                access.read(cache.raw, t, 0, layout.tensor_bytes) for t in range(layout.num_tensors)
            ]
        except Exception as exc:
            raise PreconditionError(
                "reading a cache through the adapter", describe(exc), self.t.source()
            ) from exc

    def _bytes(self, raw: Any) -> Any:
        """Who reads and writes the bytes of ``raw``: the adapter, or the helper holding it."""
        return remote_peer(raw) or self.adapter

    # -- checked calls ----------------------------------------------------------------------------

    def setup(self, obj: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        """A call the check needs to succeed; its failure is a PreconditionError (outcome error)."""
        try:
            return self.t.call(obj, method, *args, **kwargs)
        except Exception as exc:
            call = f"{self.t.render(obj)}.{method}({self.t.render_args(args, kwargs)})"
            raise PreconditionError(call, describe(exc), self.t.source()) from exc

    def expect_ok(self, obj: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        """A call the clause says succeeds."""
        call = f"{self.t.render(obj)}.{method}({self.t.render_args(args, kwargs)})"
        try:
            return self.t.call(obj, method, *args, **kwargs)
        except PeerError:
            raise  # the helper process failed, not the target: an error, never a fail
        except Exception as exc:
            self.fail(call=call, expected="the call succeeds", observed=f"raised {describe(exc)}")

    def expect_raises(
        self, exceptions: Sequence[str], obj: Any, method: str, *args: Any, **kwargs: Any
    ) -> BaseException:
        """A call the clause says raises one of ``exceptions`` (names; LLMException is the target's)."""
        call = f"{self.t.render(obj)}.{method}({self.t.render_args(args, kwargs)})"
        return self.expect_raises_from(
            exceptions, call, lambda: self.t.call(obj, method, *args, **kwargs)
        )

    def expect_raises_from(
        self, exceptions: Sequence[str], call: str, action: Any
    ) -> BaseException:
        wanted = " or ".join(exceptions)
        try:
            result = action()
        except self.exception_types(exceptions) as exc:
            return exc
        except PeerError:
            raise
        except Exception as exc:
            self.fail(call=call, expected=f"raises {wanted}", observed=f"raised {describe(exc)}")
        self.fail(
            call=call,
            expected=f"raises {wanted}",
            observed=f"returned {self.t.render(result)} (no exception)",
        )

    def expect_set(self, obj: Any, attribute: str, value: Any) -> None:
        """An assignment the clause says is accepted."""
        call = f"{self.t.render(obj)}.{attribute} = {self.t.render(value)}"
        try:
            self.t.set(obj, attribute, value)
        except Exception as exc:
            self.fail(
                call=call, expected="the assignment is accepted", observed=f"raised {describe(exc)}"
            )

    def expect_set_raises(
        self, exceptions: Sequence[str], obj: Any, attribute: str, value: Any
    ) -> BaseException:
        """An assignment the clause says is rejected with one of ``exceptions``."""
        call = f"{self.t.render(obj)}.{attribute} = {self.t.render(value)}"
        return self.expect_raises_from(exceptions, call, lambda: self.t.set(obj, attribute, value))

    def check(self, ok: bool, *, expected: str, observed: str, call: str = "") -> None:
        if not ok:
            self.fail(call=call, expected=expected, observed=observed)

    def fail(self, *, call: str, expected: str, observed: str) -> NoReturn:
        clause_id = self.clause.id if self.clause else "?"
        text = self.clause.text.en if self.clause else ""
        raise ConformanceFailure(
            clause_id, text, call or "(see replay)", expected, observed, self.t.source()
        )

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


def describe(exc: BaseException) -> str:
    """An exception in one line, with its status_code when it has one."""
    status = getattr(exc, "status_code", None)
    suffix = f" [status_code={status!r}]" if status is not None else ""
    text = str(exc).replace("\n", " ")
    if len(text) > 200:
        text = text[:197] + "..."
    return f"{type(exc).__name__}: {text}{suffix}"
