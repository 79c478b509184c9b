"""Peer failures across processes: a PROMPT killed mid-pull, a DECODER killed while it holds a
lease, a PROMPT restarted on its address, four DECODERs at once, malformed control messages."""

from __future__ import annotations

import ctypes
import hashlib
import threading
import time

import msgpack
import pytest
import zmq
from peer import pattern
from remote_support import Peers, free_port
from test_two_processes import PROMPT_ID, SHAPE, SLICE, TENSORS, decoder_engine, link

import llm_datadist_ref as ld

S = ld.LLMStatusCode
GRACE_S = 1.5  # process scheduling on a loaded 2-core machine


def test_prompt_killed_mid_pull_raises_within_timeout(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1]], seed=1)
    prompt.call("delay", operation="pull_cache", ms=20000)  # the PROMPT sits on the lease request
    decoder = decoder_engine(timeout=1000)
    try:
        assert link(decoder, port)[0] == S.LLM_SUCCESS
        cm = decoder.cache_manager
        other = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        ctypes.memset(other.tensor_addrs[0], 0x5A, 2 * SLICE)
        dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        threading.Timer(0.3, prompt.kill).start()
        start = time.monotonic()
        with pytest.raises(ld.LLMException) as killed:
            cm.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 0)
        elapsed = time.monotonic() - start
        assert killed.value.status_code == S.LLM_TIMEOUT, killed.value
        assert elapsed < 1.0 + GRACE_S, (
            f"pull_cache raised after {elapsed:.2f} s, sync_kv_timeout is 1 s"
        )
        assert ctypes.string_at(other.tensor_addrs[0], 2 * SLICE) == b"\x5a" * 2 * SLICE, (
            "other caches untouched"
        )
    finally:
        decoder.finalize()


def test_decoder_killed_with_a_lease_frees_nothing_early_and_drops_it(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    cache_id = prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1]], seed=2)
    dying = peers.decoder(301)
    assert dying.call("link", cluster_id=PROMPT_ID, port=port)[0] == 0
    dying.call("raw_lease", cluster_id=PROMPT_ID, key=[PROMPT_ID, 1])  # a pull that never commits
    prompt.call("remove_key", key=[PROMPT_ID, 1])
    prompt.call("deallocate", cache_id=cache_id)
    leased = prompt.call("state")
    assert leased["caches"] == [], "removed and deallocated"
    assert leased["leases"] == 1, "the dying DECODER's lease"
    assert leased["used_pages"] > 0, (
        "a leased cache's memory stays out of the pool while a peer may read it"
    )
    dying.kill()
    deadline = time.monotonic() + 5
    while prompt.call("state")["leases"] and time.monotonic() < deadline:
        time.sleep(0.05)
    after = prompt.call("state")
    assert after["leases"] == 0, f"the dead DECODER's lease is dropped: {after}"
    assert after["used_pages"] == 0, f"and the cache's memory returns to the pool: {after}"
    # The PROMPT keeps serving.
    prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 2]], seed=4)
    decoder = decoder_engine()
    try:
        assert link(decoder, port)[0] == S.LLM_SUCCESS
        dst = decoder.cache_manager.allocate_cache(
            ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8)
        )
        decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 2), dst, 0)
        assert (
            ctypes.string_at(dst.tensor_addrs[1], SLICE) == pattern(4 * 100 + 1, 2 * SLICE)[:SLICE]
        )
    finally:
        decoder.finalize()


def test_prompt_restarted_on_its_address_is_relinked(peers: Peers) -> None:
    port = free_port()
    first = peers.prompt(PROMPT_ID, port)
    decoder = decoder_engine()
    try:
        assert link(decoder, port)[0] == S.LLM_SUCCESS
        first.kill()
        second = peers.prompt(PROMPT_ID, port)
        second.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 9]], seed=9)
        dst = decoder.cache_manager.allocate_cache(
            ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8)
        )
        with pytest.raises(
            ld.LLMException
        ) as stale:  # the old link's session died with the process
            decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 9), dst, 0)
        assert stale.value.status_code in (S.LLM_NOT_YET_LINK, S.LLM_TIMEOUT)
        assert link(decoder, port) == (S.LLM_SUCCESS, [S.LLM_SUCCESS])
        decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 9), dst, 1)
        assert (
            ctypes.string_at(dst.tensor_addrs[0] + SLICE, SLICE) == pattern(900, 2 * SLICE)[:SLICE]
        )
    finally:
        decoder.finalize()


def test_four_decoders_pull_at_once(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    shape = [2, 256 * 1024]  # 512 KiB per tensor
    ids = [
        prompt.call(
            "allocate", shape=shape, tensors=TENSORS, keys=[[PROMPT_ID, 10 + n]], seed=20 + n
        )
        for n in range(4)
    ]
    decoders = [peers.decoder(400 + n) for n in range(4)]
    for peer in decoders:
        assert peer.call("link", cluster_id=PROMPT_ID, port=port)[0] == 0
        assert peer.call("allocate", shape=shape, tensors=TENSORS, keys=[], seed=None) == 1
    for n, peer in enumerate(decoders):  # all four pulls in flight together
        peer.send("pull", key=[PROMPT_ID, 10 + n], by_id=False, cache_id=1, batch_index=0)
    for peer in decoders:
        assert peer.reply()["ok"]
    for n, peer in enumerate(decoders):
        peer.send("pull", key=[PROMPT_ID, ids[n], 1], by_id=True, cache_id=1, batch_index=1)
    for n, peer in enumerate(decoders):
        assert peer.reply()["ok"]
        observed = peer.call("digest", cache_id=1)
        for tensor in range(TENSORS):
            expected = hashlib.sha256(pattern((20 + n) * 100 + tensor, 2 * shape[1])).hexdigest()
            assert observed[tensor] == expected, f"DECODER {n} tensor {tensor}: wrong bytes"


@pytest.mark.parametrize(
    "garbage",
    [
        b"\xc1",
        msgpack.packb({"op": "lease"}),
        msgpack.packb([1, 2, 3]),
        msgpack.packb({"op": "hello", "id": "x"}),
        b"\x92",
        b"x" * (5 << 20),
    ],
    ids=["invalid-msgpack", "missing-fields", "not-a-map", "wrong-type", "truncated", "oversized"],
)
def test_malformed_messages_drop_the_sender_and_others_are_served(
    peers: Peers, garbage: bytes
) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1]], seed=5)
    context: zmq.Context[zmq.Socket[bytes]] = zmq.Context.instance()
    rogue = context.socket(zmq.DEALER)
    rogue.setsockopt(zmq.LINGER, 0)
    rogue.connect(f"tcp://127.0.0.1:{port}")
    try:
        rogue.send(garbage)
        assert not rogue.poll(300), "a malformed message gets no reply"
        decoder = decoder_engine()
        try:
            assert link(decoder, port)[0] == S.LLM_SUCCESS
            dst = decoder.cache_manager.allocate_cache(
                ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8)
            )
            decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 0)
            assert ctypes.string_at(dst.tensor_addrs[0], SLICE) == pattern(500, 2 * SLICE)[:SLICE]
        finally:
            decoder.finalize()
    finally:
        rogue.close()


def test_a_peer_reaches_only_live_caches(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1]], seed=5)
    decoder = decoder_engine()
    try:
        assert link(decoder, port)[0] == S.LLM_SUCCESS
        dst = decoder.cache_manager.allocate_cache(
            ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8)
        )
        for key in (
            ld.CacheKeyByIdAndIndex(PROMPT_ID, 99, 0),
            ld.CacheKeyByIdAndIndex(PROMPT_ID, 1, 2),
        ):
            with pytest.raises(ld.LLMException) as missing:
                decoder.cache_manager.pull_cache(key, dst, 0)
            assert missing.value.status_code == S.LLM_KV_CACHE_NOT_EXIST
    finally:
        decoder.finalize()
