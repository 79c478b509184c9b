"""The core's side of transfers with another process, exercised within one process so that the
sanitizer build (tox -e sanitize, which runs tests/impl) checks it: leases, the peer-mapped pool,
plans from a lease's layout, commits, and every figure of a layout a peer could forge."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator

import pytest

import llm_datadist_ref as ld
from llm_datadist_ref import _core

S = ld.LLMStatusCode
DEVICE = 1
MAX = 2**64 - 1
POOL = (1 << 20, 12)
SLICE = 1024


@pytest.fixture
def serving() -> Iterator[_core.Engine]:
    engine = _core.Engine(1000, POOL, None, shareable=True)
    yield engine
    engine.finalize()


@pytest.fixture
def peer() -> Iterator[_core.Engine]:
    engine = _core.Engine(1000, POOL, None)
    yield engine
    engine.finalize()


def keyed_cache(engine: _core.Engine, req_ids: list[int]) -> tuple[int, list[int]]:
    """Two tensors of two 1 KiB batch slices, slice i of tensor t filled with 16 * t + i + 1."""
    cache_id, addresses = engine.allocate(
        DEVICE, 2, 2 * SLICE, 2, False, [(r, MAX, 0) for r in req_ids], None
    )
    for tensor, address in enumerate(addresses):
        for batch in range(2):
            ctypes.memset(address + batch * SLICE, 16 * tensor + batch + 1, SLICE)
    return cache_id, addresses


def mapped(engine: _core.Engine) -> _core.PeerRegion:
    shared = engine.shared_pool(DEVICE)
    assert shared is not None, "a shareable engine's pool has a descriptor"
    return _core.PeerRegion(*shared)


def pull(
    peer: _core.Engine, region: _core.PeerRegion, layout: _core.PeerLayout, dst_id: int
) -> list[int]:
    return peer.pull_from_peer(region, layout, 0, dst_id, 1, -1, [], [], False, [], [], 1000)


def test_lease_pull_commit_moves_the_keyed_slice_and_releases_the_key(
    serving: _core.Engine, peer: _core.Engine
) -> None:
    keyed_cache(serving, [7, 8])
    dst_id, dst = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    lease = serving.lease_source(0, 8, MAX, 0, False)
    taken = pull(peer, mapped(serving), lease.layout, dst_id)
    for tensor in range(2):
        assert ctypes.string_at(dst[tensor] + SLICE, SLICE) == bytes([16 * tensor + 2]) * SLICE, (
            f"tensor {tensor}: key 8's slice (batch 1) lands in batch 1"
        )
    assert serving.key_count() == 2, "nothing is released before the commit"
    serving.commit_lease(lease, taken)
    assert serving.key_count() == 1, "the commit releases key 8"
    with pytest.raises(ld.LLMException) as gone:
        serving.lease_source(0, 8, MAX, 0, False)
    assert gone.value.status_code == S.LLM_KV_CACHE_NOT_EXIST


def test_a_lease_pins_memory_the_serving_side_releases(serving: _core.Engine) -> None:
    cache_id, _ = keyed_cache(serving, [7])
    lease = serving.lease_source(1, cache_id, 0, 0, False)
    serving.remove_cache_key(7, MAX, 0)
    serving.deallocate(cache_id, False)
    assert serving.cache_ids() == []
    usage = serving.usage(DEVICE)
    assert usage is not None, "the engine has a DEVICE pool"
    assert usage["used_pages"] > 0, "the leased cache's pages stay out of the pool"
    del lease
    usage = serving.usage(DEVICE)
    assert usage is not None, "the engine has a DEVICE pool"
    assert usage["used_pages"] == 0, "dropping the lease returns them"


def test_a_commit_never_releases_a_key_bound_again_to_a_newer_cache(serving: _core.Engine) -> None:
    keyed_cache(serving, [7])
    lease = serving.lease_source(0, 7, MAX, 0, False)
    serving.remove_cache_key(7, MAX, 0)
    keyed_cache(serving, [7])  # the same key, a new cache
    serving.commit_lease(lease, [0, 1])
    assert serving.key_count() == 1, "the stale lease's commit left the new binding alone"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda lay: (lay[0] + 1, *lay[1:]), ld.LLMException),  # tensor count without its offsets
        (lambda lay: (*lay[:2], 0, *lay[3:]), ld.LLMException),  # batch size 0
        (lambda lay: (*lay[:4], 5, lay[5]), ld.LLMException),  # batch index outside the cache
        (
            lambda lay: (*lay[:5], [POOL[0] - 10, lay[5][1]]),
            ld.LLMException,
        ),  # a tensor past the pool
        (lambda lay: (*lay[:5], [2**63 - 1, lay[5][1]]), ld.LLMException),  # offset + size wraps
        (lambda lay: (*lay[:5], [-1, lay[5][1]]), ValueError),
        (lambda lay: (lay[1] * 4, *lay[1:]), ld.LLMException),
        (lambda lay: (*lay[:1], 2**40, *lay[2:]), ld.LLMException),  # tensors larger than the pool
        (lambda lay: lay[:5], TypeError),
    ],
    ids=[
        "tensors",
        "batch0",
        "batch-index",
        "past-end",
        "wrap",
        "negative",
        "count",
        "huge",
        "short",
    ],
)
def test_every_figure_of_a_forged_layout_is_checked(
    serving: _core.Engine, peer: _core.Engine, change: object, error: type[BaseException]
) -> None:
    keyed_cache(serving, [7])
    dst_id, _ = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    layout = serving.lease_source(0, 7, MAX, 0, False).layout
    forged = change(layout)  # type: ignore[operator]
    before = peer.usage(DEVICE)
    with pytest.raises(error):
        pull(peer, mapped(serving), forged, dst_id)
    assert peer.usage(DEVICE) == before


def test_a_remote_region_is_never_copied_from_locally(
    serving: _core.Engine, peer: _core.Engine
) -> None:
    keyed_cache(serving, [7])
    dst_id, _ = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    layout = serving.lease_source(0, 7, MAX, 0, False).layout
    remote = _core.PeerRegion.remote(0x7F0000000000, POOL[0])
    with pytest.raises(ValueError, match="transfer engine"):
        pull(peer, remote, layout, dst_id)
    plan = peer.plan_pull_remote(remote, layout, 0, dst_id, 0, -1, [], [], False, [], [], 1000)
    assert [s[2] for s in plan.spans] == [SLICE, SLICE], (
        "a plan for a transfer engine, one span per tensor"
    )
    assert all(0x7F0000000000 <= s[1] < 0x7F0000000000 + POOL[0] for s in plan.spans)
    plan.release()


def test_a_lease_of_a_finalized_engine_is_not_yet_link(serving: _core.Engine) -> None:
    keyed_cache(serving, [7])
    serving.finalize()
    with pytest.raises(ld.LLMException) as finalized:
        serving.lease_source(0, 7, MAX, 0, False)
    assert finalized.value.status_code == S.LLM_NOT_YET_LINK
