"""A stateful test of the reference-counting lifecycle, against a model.

Hypothesis drives random sequences of allocate_cache (with keys),
deallocate_cache, remove_cache_key and pull_cache by a linked DECODER, and
checks each step against a model of the document's rules: a cache lives while
its cache_id reference or any key reference does; a live key can be pulled
once and yields its batch's bytes; a dead key cannot be pulled; releasing what
is already released does nothing; a bound key cannot be bound again; and an
allocation that exceeds the pool fails. Every cache takes exactly one page,
so capacity is a count of pages.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from datadist_conformance.checks import not_applicable
from datadist_conformance.context import SuiteContext
from datadist_conformance.harness import Cache, Layout, PoolSpec, Scenario
from datadist_conformance.recorder import Recorder
from datadist_conformance.refusals import allocate_or_refused

CLAUSES = (
    "allocate_cache.refs.held_by_id_and_keys",
    "allocate_cache.refs.id_released_by_deallocate",
    "allocate_cache.refs.key_released_by_pull",
    "allocate_cache.refs.key_released_by_remove",
    "allocate_cache.raises.key_already_bound",
    "allocate_cache.pool.capacity",
    "deallocate_cache.deferred_until_keys_released",
    "deallocate_cache.absent_noop",
    "remove_cache_key.not_pullable_after",
    "remove_cache_key.absent_noop",
    "allocate_blocks_cache.returns.cache",
    "allocate_blocks_cache.released_by_deallocate_blocks_cache",
    "deallocate_blocks_cache.absent_noop",
)

#: The clauses only pulls (the adapter's peer and bytes) can exercise.
PULL_CLAUSES = (
    "allocate_cache.refs.key_released_by_pull",
    "deallocate_cache.deferred_until_keys_released",
    "remove_cache_key.not_pullable_after",
)

PAGE_SHIFT = 12
PAGES = 24
#: Fewest runs of the machine per test: enough for its rules to reach every clause it claims.
MIN_RUNS = 40


@dataclass
class ModelCache:
    cache: Cache
    model: list[bytearray]
    id_reference: bool = True
    keys: dict[int, int] = field(default_factory=dict)  #: live req_id -> batch index

    @property
    def alive(self) -> bool:
        return self.id_reference or bool(self.keys)


class LifecycleMachine(RuleBasedStateMachine):
    def __init__(self, ctx: SuiteContext, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.s = Scenario(ctx, recorder=recorder)
        self.spec = ctx.spec
        self.can_pull = ctx.target.has("peer") and ctx.target.has("bytes")
        self.prompt = self.s.engines.start(device_pool=PoolSpec(PAGES << PAGE_SHIFT, PAGE_SHIFT))
        self.decoder = self.s.engines.decoder_linked_to(self.prompt) if self.can_pull else None
        self.caches: list[ModelCache] = []
        self.blocks: list[ModelCache] = []  #: blocks caches: only the cache_id reference
        #: released keys -> the clause that says they can no longer be pulled
        self.dead_keys: dict[int, str] = {}
        self.req_ids = itertools.count(1)
        self.seed = itertools.count(1)

    def teardown(self) -> None:
        self.s.close()

    @initialize()
    def fill_the_pool(self) -> None:
        """Every run starts by filling the pool: the refusal (pool.capacity) and a second
        release (absent_noop) are checked in every run, not only when the rules happen to
        reach them, so that even the quick profile exercises every clause it claims."""
        layout = Layout(1, (1, 1 << PAGE_SHIFT), 1)
        fillers: list[ModelCache] = []
        while self._pages_in_use() < PAGES:
            self._clause("allocate_cache.refs.held_by_id_and_keys")
            raw = self._allocate("allocate_cache", self.s.desc(layout))
            if raw is None:
                break  # refused early: allowed above half the pool (fragmentation, overhead)
            fillers.append(ModelCache(Cache(raw, layout), []))
            self.caches.append(fillers[-1])
        if self._pages_in_use() == PAGES:  # one more must be refused (pool.capacity)
            self._allocate("allocate_cache", self.s.desc(layout))
        for entry in fillers:
            self._clause("allocate_cache.refs.id_released_by_deallocate")
            self.s.checker.expect_ok(self.prompt.cache_manager, "deallocate_cache", entry.cache.raw)
            entry.id_reference = False
        self._clause("deallocate_cache.absent_noop")
        self.s.checker.expect_ok(
            self.prompt.cache_manager, "deallocate_cache", fillers[0].cache.raw
        )
        release_blocks_twice(self)
        if self.can_pull:
            pull_after_release(self)
            pull_after_remove(self)

    def _clause(self, clause_id: str) -> list[str]:
        """Check ``clause_id`` from now on (counted as exercised for the run's results);
        returns the exceptions it accepts, if it names any."""
        self.s.checker.clause = self.spec.clause(clause_id)
        self.recorder.exercise(clause_id)
        return list(self.s.checker.clause.params.get("exceptions", ()))

    def _pages_in_use(self) -> int:
        return sum(1 for c in self.caches + self.blocks if c.alive)

    def _allocate(self, method: str, *args: Any) -> Any:
        """``method(*args)`` for a one-page cache: must fail on a full pool, must succeed on a
        half-empty one; in between the document allows either (fragmentation, overhead)."""
        if self._pages_in_use() + 1 > PAGES:
            exceptions = self._clause("allocate_cache.pool.capacity")
            self.s.checker.expect_raises(exceptions, self.prompt.cache_manager, method, *args)
            return None
        if self._pages_in_use() + 1 <= PAGES // 2:
            return self.s.checker.expect_ok(self.prompt.cache_manager, method, *args)
        return allocate_or_refused(self.s, self.prompt.cache_manager, method, *args)

    def _key(self, req_id: int) -> Any:
        return self.s.key(self.prompt.cluster_id, req_id)

    @rule(data=st.data())
    def allocate(self, data: st.DataObject) -> None:
        batch = data.draw(st.integers(1, 3), label="batch")
        row = data.draw(st.integers(1, (1 << PAGE_SHIFT) // batch), label="bytes per batch index")
        keys = data.draw(st.integers(0, batch), label="number of keys")
        req_ids = [next(self.req_ids) for _ in range(keys)]
        layout = Layout(1, (batch, row), 1)
        self._clause("allocate_cache.refs.held_by_id_and_keys")
        raw = self._allocate("allocate_cache", self.s.desc(layout), [self._key(r) for r in req_ids])
        if raw is None:
            return
        cache = Cache(raw, layout)
        model = self.s.caches.fill(cache, next(self.seed)) if self.can_pull else []
        self.caches.append(
            ModelCache(cache, model, keys=dict(zip(req_ids, range(keys), strict=True)))
        )

    @rule(data=st.data())
    def allocate_blocks(self, data: st.DataObject) -> None:
        blocks = data.draw(st.integers(1, 4), label="blocks")
        row = data.draw(st.integers(1, (1 << PAGE_SHIFT) // blocks), label="bytes per block")
        layout = Layout(1, (blocks, row), 1)
        self._clause("allocate_blocks_cache.returns.cache")
        raw = self._allocate("allocate_blocks_cache", self.s.desc(layout))
        if raw is not None:
            self.blocks.append(ModelCache(Cache(raw, layout), []))

    @precondition(lambda self: any(c.id_reference for c in self.blocks))
    @rule(data=st.data())
    def deallocate_blocks(self, data: st.DataObject) -> None:
        entry = data.draw(
            st.sampled_from([c for c in self.blocks if c.id_reference]), label="blocks cache"
        )
        self._clause("allocate_blocks_cache.released_by_deallocate_blocks_cache")
        self.s.checker.expect_ok(
            self.prompt.cache_manager, "deallocate_blocks_cache", entry.cache.raw
        )
        entry.id_reference = False

    @precondition(lambda self: any(not c.id_reference for c in self.blocks))
    @rule(data=st.data())
    def deallocate_blocks_again(self, data: st.DataObject) -> None:
        entry = data.draw(
            st.sampled_from([c for c in self.blocks if not c.id_reference]),
            label="released blocks cache",
        )
        self._clause("deallocate_blocks_cache.absent_noop")
        self.s.checker.expect_ok(
            self.prompt.cache_manager, "deallocate_blocks_cache", entry.cache.raw
        )

    @precondition(lambda self: any(c.id_reference for c in self.caches))
    @rule(data=st.data())
    def deallocate(self, data: st.DataObject) -> None:
        entry = data.draw(
            st.sampled_from([c for c in self.caches if c.id_reference]), label="cache"
        )
        self._clause("allocate_cache.refs.id_released_by_deallocate")
        self.s.checker.expect_ok(self.prompt.cache_manager, "deallocate_cache", entry.cache.raw)
        entry.id_reference = False

    @precondition(lambda self: any(not c.id_reference for c in self.caches))
    @rule(data=st.data())
    def deallocate_again(self, data: st.DataObject) -> None:
        entry = data.draw(
            st.sampled_from([c for c in self.caches if not c.id_reference]), label="released cache"
        )
        self._clause("deallocate_cache.absent_noop")
        self.s.checker.expect_ok(self.prompt.cache_manager, "deallocate_cache", entry.cache.raw)

    @precondition(lambda self: any(c.keys for c in self.caches))
    @rule(data=st.data())
    def remove_key(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from([c for c in self.caches if c.keys]), label="cache")
        req_id = data.draw(st.sampled_from(sorted(entry.keys)), label="req_id")
        self._clause("allocate_cache.refs.key_released_by_remove")
        self.s.checker.expect_ok(self.prompt.cache_manager, "remove_cache_key", self._key(req_id))
        del entry.keys[req_id]
        self.dead_keys[req_id] = "remove_cache_key.not_pullable_after"

    @precondition(lambda self: bool(self.dead_keys))
    @rule(data=st.data())
    def remove_dead_key(self, data: st.DataObject) -> None:
        req_id = data.draw(st.sampled_from(sorted(self.dead_keys)), label="dead req_id")
        self._clause("remove_cache_key.absent_noop")
        self.s.checker.expect_ok(self.prompt.cache_manager, "remove_cache_key", self._key(req_id))

    @precondition(lambda self: self.can_pull and any(c.keys for c in self.caches))
    @rule(data=st.data())
    def pull_live_key(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from([c for c in self.caches if c.keys]), label="cache")
        req_id = data.draw(st.sampled_from(sorted(entry.keys)), label="req_id")
        index = entry.keys[req_id]
        layout = entry.cache.layout
        self._clause(
            "deallocate_cache.deferred_until_keys_released"
            if not entry.id_reference
            else "allocate_cache.refs.held_by_id_and_keys"
        )
        assert self.decoder is not None
        target = Cache(
            self.s.checker.setup(
                self.decoder.cache_manager,
                "allocate_cache",
                self.s.desc(Layout(1, (1, layout.shape[1]), 1)),
            ),
            Layout(1, (1, layout.shape[1]), 1),
        )
        self.s.checker.expect_ok(
            self.decoder.cache_manager, "pull_cache", self._key(req_id), target.raw, 0
        )
        span = layout.slice_bytes
        want = bytes(entry.model[0][index * span : (index + 1) * span])
        got = self.s.caches.read(target)[0]
        self.s.checker.check(
            got == want,
            call="pull_cache(live key)",
            expected=f"batch index {index}'s bytes",
            observed="other bytes",
            replay=self.s.caches.bytes_condition(target, [want]),
        )
        # The key is now dead; pull_dead_key checks (and counts) key_released_by_pull.
        del entry.keys[req_id]
        self.dead_keys[req_id] = "allocate_cache.refs.key_released_by_pull"
        self.s.checker.setup(self.decoder.cache_manager, "deallocate_cache", target.raw)

    @precondition(lambda self: self.can_pull and bool(self.dead_keys))
    @rule(data=st.data())
    def pull_dead_key(self, data: st.DataObject) -> None:
        self._pull_dead(data.draw(st.sampled_from(sorted(self.dead_keys)), label="dead req_id"))

    def _pull_dead(self, req_id: int) -> None:
        exceptions = self._clause(self.dead_keys[req_id])
        assert self.decoder is not None
        target = self.s.checker.setup(
            self.decoder.cache_manager, "allocate_cache", self.s.desc(Layout(1, (1, 1), 1))
        )
        self.s.checker.expect_raises(
            exceptions, self.decoder.cache_manager, "pull_cache", self._key(req_id), target, 0
        )
        self.s.checker.setup(self.decoder.cache_manager, "deallocate_cache", target)

    @precondition(lambda self: any(c.keys for c in self.caches))
    @rule(data=st.data())
    def bind_a_bound_key(self, data: st.DataObject) -> None:
        entry = data.draw(st.sampled_from([c for c in self.caches if c.keys]), label="cache")
        req_id = data.draw(st.sampled_from(sorted(entry.keys)), label="bound req_id")
        exceptions = self._clause("allocate_cache.raises.key_already_bound")
        self.s.checker.expect_raises(
            exceptions,
            self.prompt.cache_manager,
            "allocate_cache",
            self.s.desc(Layout(1, (1, 8), 1)),
            [self._key(req_id)],
        )


# The machine's set-up chains (fill_the_pool runs them), kept out of the class so that its
# methods are the machine's rules and their helpers.
def release_blocks_twice(m: LifecycleMachine) -> None:
    """A blocks cache released twice, every run: whether the rules reach the second release
    otherwise depends on how hypothesis' generation goes (it draws on constants of the
    suite's own source, so unrelated edits shift it)."""
    layout = Layout(1, (1, 1 << PAGE_SHIFT), 1)
    m._clause("allocate_blocks_cache.returns.cache")
    raw = m._allocate("allocate_blocks_cache", m.s.desc(layout))
    if raw is None:
        return  # refused: the pool's own clauses report it
    m._clause("allocate_blocks_cache.released_by_deallocate_blocks_cache")
    m.s.checker.expect_ok(m.prompt.cache_manager, "deallocate_blocks_cache", raw)
    m._clause("deallocate_blocks_cache.absent_noop")
    m.s.checker.expect_ok(m.prompt.cache_manager, "deallocate_blocks_cache", raw)


def pull_after_release(m: LifecycleMachine) -> None:
    """The rarest chain of the rules, every run: a keyed cache released by id is still
    pullable through its key (deferred release); after the pull the key is dead."""
    layout = Layout(1, (1, 64), 1)
    req_id = next(m.req_ids)
    raw = m._allocate("allocate_cache", m.s.desc(layout), [m._key(req_id)])
    entry = ModelCache(Cache(raw, layout), m.s.caches.fill(Cache(raw, layout), next(m.seed)))
    entry.keys[req_id] = 0
    m.caches.append(entry)
    m.s.checker.expect_ok(m.prompt.cache_manager, "deallocate_cache", raw)
    entry.id_reference = False
    m._clause("deallocate_cache.deferred_until_keys_released")
    assert m.decoder is not None
    target = Cache(
        m.s.checker.setup(m.decoder.cache_manager, "allocate_cache", m.s.desc(layout)),
        layout,
    )
    m.s.checker.expect_ok(m.decoder.cache_manager, "pull_cache", m._key(req_id), target.raw, 0)
    m.s.checker.check(
        m.s.caches.read(target)[0] == bytes(entry.model[0]),
        call="pull_cache(the key of a cache released by id)",
        expected="its bytes: the key still holds the cache",
        observed="other bytes",
        replay=m.s.caches.bytes_condition(target, [bytes(entry.model[0])]),
    )
    del entry.keys[req_id]
    m.dead_keys[req_id] = "allocate_cache.refs.key_released_by_pull"
    m.s.checker.setup(m.decoder.cache_manager, "deallocate_cache", target.raw)


def pull_after_remove(m: LifecycleMachine) -> None:
    """Every run, not only when the rules happen to line up: a key released by pulling it
    (the chain above) and a key released by remove_cache_key can no longer be pulled."""
    for req_id in list(m.dead_keys):
        m._pull_dead(req_id)
    req_id = next(m.req_ids)
    layout = Layout(1, (1, 16), 1)
    raw = m._allocate("allocate_cache", m.s.desc(layout), [m._key(req_id)])
    m.caches.append(ModelCache(Cache(raw, layout), []))
    m._clause("allocate_cache.refs.key_released_by_remove")
    m.s.checker.expect_ok(m.prompt.cache_manager, "remove_cache_key", m._key(req_id))
    m.dead_keys[req_id] = "remove_cache_key.not_pullable_after"
    m._pull_dead(req_id)


@pytest.mark.clause(*CLAUSES)
@pytest.mark.family("stateful")
def test_lifecycle_state_machine(suite_context: SuiteContext, recorder: Recorder) -> None:
    if not suite_context.supported("CacheManager.allocate_cache"):
        not_applicable(f"the legacy CacheManager is not supported on {suite_context.product_id}")
    # At least MIN_RUNS runs, so that every profile (quick included) reaches every clause.
    runs = settings(settings(), max_examples=max(settings().max_examples, MIN_RUNS))
    # A factory is allowed (hypothesis docs); the stubs only name the class form.
    machine = lambda: LifecycleMachine(suite_context, recorder)  # noqa: E731
    run_state_machine_as_test(machine, settings=runs)  # type: ignore[arg-type]
    # A clause the machine carries but never reached is untestable for this run, not passed.
    target = suite_context.target
    if not (target.has("peer") and target.has("bytes")):
        reason = f"pulls need the adapter's peer and bytes, which {target.adapter.name} lacks"
        recorder.require_exercised(PULL_CLAUSES, reason)
    recorder.require_exercised(CLAUSES, f"not reached in {recorder.examples} runs of the machine")
