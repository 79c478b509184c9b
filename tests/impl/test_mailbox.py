"""The same-host fast path of transfers between processes (`_core.MailboxServer` and
`_core.MailboxClient`), exercised within one process so that the sanitizer builds check it: a pull
or push through the mailbox keeps the control channel's rules (the key is released by the commit,
a failed transfer releases nothing, a silent listener is a timeout), and the serving side survives
whatever a peer writes into the shared page."""

from __future__ import annotations

import ctypes
import mmap
import os
import struct
import time
from collections.abc import Iterator

import pytest

import llm_datadist_ref as ld
from llm_datadist_ref import _core

S = ld.LLMStatusCode
DEVICE = 1
MAX = 2**64 - 1
SLICE = 1024
REQUEST_SEQ, REPLY_SEQ, REQUEST = 0, 64, 128  # offsets in the shared page (mailbox.hpp Layout)
SERVER_CPU, CLIENT_CPU = 8, 72  # where each side publishes the CPU it waits on (1 + its number)
CACHE_KEY, BY_ID, BLOCKS_KEY = 0, 1, 2


@pytest.fixture
def serving() -> Iterator[_core.Engine]:
    engine = _core.Engine(1000, (32 << 20, 12), None, shareable=True)
    yield engine
    engine.finalize()


@pytest.fixture
def peer() -> Iterator[_core.Engine]:
    engine = _core.Engine(300, (1 << 20, 12), None)
    yield engine
    engine.finalize()


@pytest.fixture
def server(serving: _core.Engine) -> Iterator[_core.MailboxServer]:
    box = _core.MailboxServer(serving)
    yield box
    box.close()


def client_of(server: _core.MailboxServer, pool_of: _core.Engine) -> _core.MailboxClient:
    """A client of `server` whose DEVICE region is the pool of `pool_of` (the server's engine,
    unless a test maps the wrong memory on purpose)."""
    shared = pool_of.shared_pool(DEVICE)
    assert shared is not None, "a shareable engine's pool has a descriptor"
    regions = {DEVICE: _core.PeerRegion(*shared)}
    return _core.MailboxClient(server.fd, _core.MailboxServer.bytes, "cluster 1", regions)


def keyed_cache(engine: _core.Engine, req_ids: list[int], fill: int = 0) -> int:
    """Two tensors of two 1 KiB batch slices, slice i of tensor t filled with fill + 16 t + i + 1."""
    cache_id, addresses = engine.allocate(
        DEVICE, 2, 2 * SLICE, 2, False, [(r, MAX, 0) for r in req_ids], None
    )
    for tensor, address in enumerate(addresses):
        for batch in range(2):
            ctypes.memset(address + batch * SLICE, fill + 16 * tensor + batch + 1, SLICE)
    return cache_id


def pull(
    peer: _core.Engine, client: _core.MailboxClient, key: tuple[int, int, int, int], dst_id: int
) -> bool:
    kind, a, b, c = key
    return peer.pull_via_mailbox(
        client, kind, a, b, c, dst_id, 1, -1, [], [], False, [], [], peer.timeout_ms
    )


def landed(addresses: list[int], fill: int = 0) -> list[str]:
    """What is wrong with batch 1 of a pulled cache (empty when it holds the PROMPT's batch 1)."""
    return [
        f"tensor {t}: expected {fill + 16 * t + 2}, observed {ctypes.string_at(a + SLICE, 4).hex()}"
        for t, a in enumerate(addresses)
        if ctypes.string_at(a + SLICE, SLICE) != bytes([fill + 16 * t + 2]) * SLICE
    ]


def test_a_pull_by_key_moves_the_slice_and_its_commit_releases_the_key(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    keyed_cache(serving, [7, 8])
    dst_id, dst = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    client = client_of(server, serving)
    assert pull(peer, client, (CACHE_KEY, 8, MAX, 0), dst_id) is True
    assert landed(dst) == [], "pull_cache(CacheKey 8) through the mailbox: key 8's batch 1"
    assert serving.key_count() == 1, "the commit released key 8 and only it"
    assert not server.holds_lease, "a committed lease ends"
    with pytest.raises(ld.LLMException) as gone:
        pull(peer, client, (CACHE_KEY, 8, MAX, 0), dst_id)
    assert gone.value.status_code == S.LLM_KV_CACHE_NOT_EXIST, gone.value


def test_byte_checks_catch_a_mailbox_over_the_wrong_memory(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    """Meta-check: the byte comparison above fails a data plane that reads other memory."""
    other = _core.Engine(1000, (32 << 20, 12), None, shareable=True)
    try:
        keyed_cache(other, [1], fill=100)  # same layout, other bytes
        keyed_cache(serving, [8])
        dst_id, dst = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
        assert pull(peer, client_of(server, other), (CACHE_KEY, 8, MAX, 0), dst_id) is True
        assert landed(dst) != [], "reading the wrong pool must fail the byte check"
    finally:
        other.finalize()


def test_a_failed_pull_releases_nothing_and_ends_its_lease(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    keyed_cache(serving, [7])
    client = client_of(server, serving)
    with pytest.raises(ld.LLMException) as missing:
        pull(peer, client, (CACHE_KEY, 7, MAX, 0), 12345)  # no such destination
    assert missing.value.status_code == S.LLM_KV_CACHE_NOT_EXIST, missing.value
    assert not server.holds_lease, "the failed pull released its lease before raising"
    assert serving.key_count() == 1, "and its key is not"


def test_pull_blocks_keeps_its_key_and_push_writes_the_remote_slice(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    blocks_id, blocks = serving.allocate(DEVICE, 1, 4 * SLICE, 4, True, [], 9)
    ctypes.memset(blocks[0], 0x3C, 4 * SLICE)
    dst_id, dst = peer.allocate(DEVICE, 1, 4 * SLICE, 4, True, [], None)
    client = client_of(server, serving)
    keys = serving.key_count()
    assert peer.pull_via_mailbox(
        client, BLOCKS_KEY, 9, 0, 0, dst_id, 0, -1, [2], [1], True, [], [], 1000
    )
    assert ctypes.string_at(dst[0] + SLICE, SLICE) == b"\x3c" * SLICE, "block 2 into block 1"
    assert serving.key_count() == keys, "pull_blocks never releases the blocks key"
    target, target_addresses = serving.allocate(DEVICE, 2, 2 * SLICE, 2, False, [(5, MAX, 0)], None)
    src_id, src = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    for tensor in range(2):
        ctypes.memset(src[tensor] + SLICE, 0xE0 + tensor, SLICE)
    assert peer.push_via_mailbox(client, target, 0, src_id, 1, [], [], 1000)
    for tensor, address in enumerate(target_addresses):
        assert ctypes.string_at(address, SLICE) == bytes([0xE0 + tensor]) * SLICE, (
            f"push_cache through the mailbox: tensor {tensor}'s batch 1 into the remote batch 0"
        )
    assert serving.key_count() == keys, "the push released key 5, bound to the batch it wrote"
    del blocks_id


def test_the_front_ends_quick_binding_pulls_and_defers_an_injected_delay(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    """Engine.quick_pull_via_mailbox (what pull_cache / pull_blocks call on the common path):
    the same transfer as pull_via_mailbox, and False, with nothing done, while a testing delay
    is injected, so that the full path applies it."""
    keyed_cache(serving, [7, 8])
    dst_id, dst = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    client = client_of(server, serving)
    try:
        _core.set_operation_delay("pull_cache", 50)
        assert peer.quick_pull_via_mailbox(client, (CACHE_KEY, 8, MAX, 0), dst_id, 1, None) is False
        assert serving.key_count() == 2, "a deferred pull released no key"
        assert not server.holds_lease, "a deferred pull took no lease"
    finally:
        _core.set_operation_delay("pull_cache", 0)
    assert peer.quick_pull_via_mailbox(client, (CACHE_KEY, 8, MAX, 0), dst_id, 1, None) is True
    assert landed(dst) == [], "quick pull_cache(CacheKey 8): key 8's batch 1 into batch 1"
    assert serving.key_count() == 1, "its commit released key 8"
    assert not server.holds_lease, "and ended its lease"
    blocks_id, blocks = serving.allocate(DEVICE, 1, 4 * SLICE, 4, True, [], 9)
    ctypes.memset(blocks[0] + 3 * SLICE, 0x5A, SLICE)
    blocks_dst, blocks_at = peer.allocate(DEVICE, 1, 4 * SLICE, 4, True, [], None)
    assert peer.quick_pull_via_mailbox(client, (BLOCKS_KEY, 9, 0, 0), blocks_dst, 0, ([3], [0]))
    assert ctypes.string_at(blocks_at[0], SLICE) == b"\x5a" * SLICE, "quick pull_blocks: 3 into 0"
    del blocks_id


@pytest.mark.parametrize(
    ("key", "blocks"),
    [((CACHE_KEY, 8, MAX), None), ([CACHE_KEY, 8, MAX, 0], None), ((CACHE_KEY, 8, MAX, 0), ([1],))],
)
def test_the_quick_binding_refuses_malformed_arguments(
    serving: _core.Engine,
    peer: _core.Engine,
    server: _core.MailboxServer,
    key: object,
    blocks: object,
) -> None:
    keyed_cache(serving, [8])
    dst_id, _ = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    with pytest.raises(TypeError):
        peer.quick_pull_via_mailbox(client_of(server, serving), key, dst_id, 1, blocks)  # type: ignore[arg-type]
    assert serving.key_count() == 1, "a refused call releases nothing"
    assert not server.holds_lease, "a refused call takes no lease"


class _Blocks(list[int]):
    """A list subclass: not what the quick path reads itself."""


@pytest.mark.parametrize(
    "src_blocks", [[True], _Blocks([1]), [2**63], (1.0,)], ids=["bool", "subclass", "big", "float"]
)
def test_block_lists_of_anything_but_exact_ints_are_left_to_the_front_end(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer, src_blocks: object
) -> None:
    """The quick binding takes block lists as they are only when they hold exact ints in int64
    range; anything else is False with nothing done, so that the front end's checked path
    gives its documented error (or accepts what it accepts)."""
    serving.allocate(DEVICE, 1, 4 * SLICE, 4, True, [], 9)
    dst_id, _ = peer.allocate(DEVICE, 1, 4 * SLICE, 4, True, [], None)
    client = client_of(server, serving)
    blocks = (src_blocks, [0])  # deliberately outside the stub's types
    quick = peer.quick_pull_via_mailbox
    assert quick(client, (BLOCKS_KEY, 9, 0, 0), dst_id, 0, blocks) is False  # type: ignore[arg-type]
    assert not server.holds_lease, "nothing was leased"
    assert peer.quick_pull_via_mailbox(client, (BLOCKS_KEY, 9, 0, 0), dst_id, 0, ([1], [0]))


def test_a_silent_listener_is_a_timeout_that_changes_nothing(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    keyed_cache(serving, [7])
    dst_id, dst = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
    before = [ctypes.string_at(a, 2 * SLICE) for a in dst]
    client = client_of(server, serving)
    server.close()
    start = time.monotonic()
    with pytest.raises(ld.LLMException) as silent:
        pull(peer, client, (CACHE_KEY, 7, MAX, 0), dst_id)
    elapsed = time.monotonic() - start
    assert silent.value.status_code == S.LLM_TIMEOUT, silent.value
    assert "did not answer 'pull_cache' within 300 ms" in str(silent.value)
    assert 0.25 < elapsed < 2.0, f"raised after {elapsed:.2f} s, the timeout is 0.3 s"
    assert [ctypes.string_at(a, 2 * SLICE) for a in dst] == before, "the destination is untouched"
    assert serving.key_count() == 1


def test_a_cache_too_large_for_the_mailbox_goes_through_the_control_channel(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    cache_id, _ = serving.allocate(DEVICE, 4097, 64, 1, False, [(3, MAX, 0)], None)
    dst_id, _ = peer.allocate(DEVICE, 1, 64, 1, False, [], None)
    client = client_of(server, serving)
    assert pull(peer, client, (BY_ID, cache_id, 0, 0), dst_id) is False, "4097 tensors: fall back"
    assert not server.holds_lease, "having leased nothing"
    assert serving.key_count() == 1, "and released nothing"


def test_the_server_survives_whatever_a_peer_writes_into_the_page(
    serving: _core.Engine, peer: _core.Engine, server: _core.MailboxServer
) -> None:
    keyed_cache(serving, [6, 7])  # key 7 names batch 1
    page = mmap.mmap(server.fd, _core.MailboxServer.bytes)
    try:
        rng = __import__("random").Random(11)
        for seq in range(1, 41):
            page[REQUEST : REQUEST + 64] = rng.randbytes(64)
            if seq % 2:
                page[REQUEST : REQUEST + 4] = struct.pack("<I", rng.choice([1, 2, 3, 4, 99]))
            page[REQUEST_SEQ : REQUEST_SEQ + 4] = struct.pack("<I", seq)
            deadline = time.monotonic() + 2
            while struct.unpack_from("<I", page, REPLY_SEQ)[0] != seq:
                assert time.monotonic() < deadline, f"request {seq} of garbage got no reply"
                time.sleep(0.0005)
        assert serving.key_count() == 2, "garbage released no key"
        assert serving.cache_ids() != [], "and freed no cache"
        # A client takes over the page (its sequence numbers go on from the page's).
        dst_id, dst = peer.allocate(DEVICE, 2, 2 * SLICE, 2, False, [], None)
        assert pull(peer, client_of(server, serving), (CACHE_KEY, 7, MAX, 0), dst_id)
        assert landed(dst) == [], "the server still serves correct pulls"
    finally:
        page.close()


def test_each_side_publishes_the_cpu_it_waits_on(
    serving: _core.Engine, server: _core.MailboxServer
) -> None:
    """What keeps a waiting side from spinning on the CPU its peer needs (a one-CPU machine or
    both pinned to one CPU): after a round trip, the page names a CPU of this machine for each
    side, as 1 + the CPU's number (0 would mean "unknown": spin regardless)."""
    client = client_of(server, serving)
    page = mmap.mmap(server.fd, _core.MailboxServer.bytes)
    try:
        client.ping(1000)
        cpus = os.cpu_count() or 1
        for name, offset in (("server", SERVER_CPU), ("client", CLIENT_CPU)):
            tag = struct.unpack_from("<I", page, offset)[0]
            assert 1 <= tag <= cpus, (
                f"after ping: the {name}'s CPU tag at page offset {offset} should be in "
                f"[1, {cpus}], observed {tag}"
            )
    finally:
        page.close()


def test_a_mailbox_that_could_shrink_or_has_the_wrong_size_is_refused() -> None:
    fd = os.memfd_create("not-sealed")
    try:
        os.ftruncate(fd, _core.MailboxServer.bytes)
        with pytest.raises(ld.LLMException, match="sealed"):
            _core.MailboxClient(fd, _core.MailboxServer.bytes, "cluster 1", {})
        with pytest.raises(ld.LLMException, match="wrong size"):
            _core.MailboxClient(fd, 4096, "cluster 1", {})
    finally:
        os.close(fd)


def test_a_mailbox_server_without_an_engine_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="needs an Engine"):
        _core.MailboxServer(None)  # type: ignore[arg-type]
