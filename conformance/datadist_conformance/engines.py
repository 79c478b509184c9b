"""The engine set-up part of a scenario: engines started as users start them, linked, finalized.

An engine is created the way users do (LLMConfig -> generate_options -> LLMDataDist.init ->
cache_manager), in this process or in the helper process. In peer mode ``process`` the DECODER
of a linked pair lives in the helper process, and each process holds at most one engine at a
time: starting an engine finalizes the live one of the same process first (templates never use
an engine after starting the next).
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .checks import PreconditionError, describe, require
from .peer.client import PeerError, PeerProcess

if TYPE_CHECKING:
    from .names import TargetNames
    from .target import Target

__all__ = [
    "DEFAULT_DEVICE_POOL",
    "DEFAULT_HOST_POOL",
    "LINKED_DECODER_TIMEOUT_MS",
    "Engine",
    "Engines",
    "PoolSpec",
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


class Engines:
    """Starts, links and finalizes the engines of one scenario; ``live`` lists them all."""

    def __init__(self, target: Target, names: TargetNames, product_id: str) -> None:
        self.target = target
        self.adapter = target.adapter
        self.names = names
        self.t = names.t
        self.cross_process = names.cross_process
        self.live: list[Engine] = []
        self._shared: Engine | None = None
        self._product = product_id  #: the line engines start as (see as_product)

    def start(
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
            datadist = construct("LLMDataDist", self.names.enum("LLMRole", role), cluster_id)
            engine = Engine(datadist, None, role, cluster_id, address, peer=peer)
            self.live.append(engine)
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

    def unstarted(self, config: Any) -> tuple[Any, dict[str, str]]:
        """A PROMPT LLMDataDist and the options of ``config`` (in CacheManager mode), not yet
        initialised: for checks that ``init`` rejects them. It is finalized at close."""
        self._make_room(None)
        number = next(_ids)
        try:
            self.t.set(config, "device_id", self.adapter.device_id(helper=False))
            self.t.set(config, "enable_cache_manager", True)
            options = self._options(config)
            datadist = self.names.new(
                "LLMDataDist", self.names.enum("LLMRole", "PROMPT"), 7000 + number
            )
        except Exception as exc:
            raise PreconditionError(
                "configuring an engine", describe(exc), self.t.source()
            ) from exc
        self.live.append(Engine(datadist, None, "PROMPT", 7000 + number, ("", 0)))
        return datadist, options

    def shared(self, *, sync_kv_timeout: int | None = None) -> Engine:
        """One PROMPT engine with the default pools, reused by every call of this scenario.

        ``sync_kv_timeout`` applies when this call creates it.
        """
        if self._shared is None or self._shared.closed:
            self._shared = self.start(host_pool=DEFAULT_HOST_POOL, sync_kv_timeout=sync_kv_timeout)
        return self._shared

    def decoder_linked_to(self, prompt: Engine, **engine_options: Any) -> Engine:
        """A DECODER engine linked to ``prompt`` through the adapter (in peer mode ``process``,
        a DECODER in the helper process, linked there by the helper's adapter)."""
        require(self.target, "peer", "linking a DECODER to a PROMPT")
        peer = self._helper() if self.cross_process else None
        engine_options.setdefault("sync_kv_timeout", LINKED_DECODER_TIMEOUT_MS)
        decoder = self.start("DECODER", peer=peer, **engine_options)
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

    @contextmanager
    def as_product(self, product_id: str) -> Iterator[None]:
        """Engines started inside emulate ``product_id`` (needs the product_emulation capability)."""
        self._product, before = product_id, self._product
        self.t.comment(f"engines started as product line {product_id}")
        try:
            yield
        finally:
            self._product = before

    def close(self) -> None:
        """Unlink and finalize every engine, newest first; never raises."""
        for engine in reversed(self.live):
            if not engine.closed:
                self._finalize(engine)
        for helper in {id(e.peer): e.peer for e in self.live if e.peer is not None}.values():
            with suppress(Exception):
                helper.forget()
        self.live.clear()
        self.names.recipes.clear()

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
            return self.names.new

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
        for engine in self.live:
            if engine.peer is peer and not engine.closed:
                self.t.comment("one engine per process: the previous one is finalized first")
                self._finalize(engine)

    def _helper(self) -> PeerProcess:
        try:
            helper = self.adapter.peer_process()
        except PeerError:
            raise
        except Exception as exc:
            raise PreconditionError(
                "starting the peer process", describe(exc), self.t.source()
            ) from exc
        helper.recipes = self.names.recipes
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
