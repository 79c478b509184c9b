"""The cross-host path: Mooncake Transfer Engine (the extra), forced by the init option on one
machine, then across two network namespaces as two hosts; and the failure without the extra."""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest
from peer import pattern
from remote_support import Peers, free_port
from test_two_processes import PROMPT_ID, SHAPE, SLICE, TENSORS, assert_slice, link

import llm_datadist_ref as ld
from llm_datadist_ref._remote import link as link_module
from llm_datadist_ref._remote.mooncake import mooncake_available

S = ld.LLMStatusCode
needs_mooncake = pytest.mark.skipif(
    not mooncake_available(),
    reason="the mooncake extra is not installed (pip install '.[mooncake]'; Debian libibverbs1)",
)


def mooncake_decoder(remote: bool = False, timeout: int = 3000) -> ld.LLMDataDist:
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True, sync_kv_timeout=timeout)
    config.mem_pool_cfg = '{"memory_size": 16777216, "page_shift": 16}'
    config.enable_remote_cache_accessible = remote
    options = config.generate_options()
    options["llm_datadist_ref.transport"] = "mooncake"
    decoder = ld.LLMDataDist(ld.LLMRole.DECODER, 202)
    decoder.init(options)
    return decoder


@needs_mooncake
def test_forced_mooncake_pull_by_key_and_id_then_push(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port, timeout=3000, remote=True, transport="mooncake")
    cache_id = prompt.call(
        "allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1], [PROMPT_ID, 2]], seed=12
    )
    decoder = mooncake_decoder(remote=True)
    try:
        assert link(decoder, port) == (S.LLM_SUCCESS, [S.LLM_SUCCESS])
        remote = decoder._links.remote_link(PROMPT_ID)
        assert remote is not None, "the DECODER is linked to the PROMPT"
        assert remote._mooncake is not None, "the link uses Mooncake"
        cm = decoder.cache_manager
        dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        cm.pull_cache(ld.CacheKeyByIdAndIndex(PROMPT_ID, cache_id, 1), dst, 0)
        assert_slice(dst, 0, seed=12, src_batch=1, what="Mooncake pull by id and index")
        assert prompt.call("state")["keys"] == 1, "the pull released key 2 (bound to batch 1)"
        src = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        for tensor in range(TENSORS):
            ctypes.memmove(src.tensor_addrs[tensor], pattern(70 + tensor, 2 * SLICE), 2 * SLICE)
        cm.push_cache(ld.CacheKeyByIdAndIndex(PROMPT_ID, cache_id, 0), src, 1)
        written = prompt.call("read", cache_id=cache_id)
        for tensor in range(TENSORS):
            assert (
                bytes.fromhex(written[tensor])[:SLICE] == pattern(70 + tensor, 2 * SLICE)[SLICE:]
            ), f"[Mooncake push_cache] tensor {tensor}: src batch 1 -> remote batch 0"
        assert prompt.call("state")["caches"] == [cache_id], (
            "the push released key 1; the id holds it"
        )
    finally:
        decoder.finalize()


@needs_mooncake
def test_an_auto_prompt_opens_its_mooncake_endpoint_only_for_a_peer_that_needs_it(
    peers: Peers,
) -> None:
    """A PROMPT of transport auto (the extra installed) starts no TransferEngine at init, nor
    for a DECODER of this host that maps its pools; the first DECODER that cannot (here one
    forced to mooncake) gets it opened then, and pulls through it."""
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port, timeout=3000)
    cache_id = prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[], seed=13)
    assert prompt.call("state")["mooncake_open"] is False, "opened at init"
    shm_decoder = peers.decoder(201, timeout=3000)
    linked = shm_decoder.call("link", cluster_id=PROMPT_ID, port=port)
    assert linked == [int(S.LLM_SUCCESS)] * 2, f"the same-host DECODER's link: {linked}"
    assert prompt.call("state")["mooncake_open"] is False, "opened for a same-host shm peer"
    decoder = mooncake_decoder()
    try:
        assert link(decoder, port) == (S.LLM_SUCCESS, [S.LLM_SUCCESS])
        assert prompt.call("state")["mooncake_open"] is True, "not opened for a Mooncake peer"
        cm = decoder.cache_manager
        dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        cm.pull_cache(ld.CacheKeyByIdAndIndex(PROMPT_ID, cache_id, 1), dst, 0)
        assert_slice(dst, 0, seed=13, src_batch=1, what="pull through the lazily opened endpoint")
    finally:
        decoder.finalize()


def test_cross_host_link_without_the_extra_names_it(
    peers: Peers, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    peers.prompt(PROMPT_ID, port, transport="shm")
    monkeypatch.setattr(link_module, "mooncake_available", lambda: False)
    decoder = mooncake_decoder()
    try:
        with caplog.at_level(logging.WARNING, logger="llm_datadist_ref"):
            assert link(decoder, port) == (S.LLM_LINK_FAILED, [S.LLM_LINK_FAILED])
        assert "datadist-conformance[mooncake]" in caplog.text, caplog.text
    finally:
        decoder.finalize()


@pytest.fixture
def two_hosts() -> Iterator[tuple[tuple[str, ...], tuple[str, ...], str]]:
    """Two network namespaces joined by a veth pair: (prefix of host A, of host B, A's address)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("two network namespaces need root and iproute2")
    tag = f"{os.getpid() % 10000}"
    a, b = f"ldr-a{tag}", f"ldr-b{tag}"
    subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"

    def ip(*arguments: str) -> None:
        subprocess.run(["ip", *arguments], check=True, capture_output=True)

    try:
        ip("netns", "add", a)
        ip("netns", "add", b)
        ip("link", "add", f"va{tag}", "type", "veth", "peer", "name", f"vb{tag}")
        ip("link", "set", f"va{tag}", "netns", a)
        ip("link", "set", f"vb{tag}", "netns", b)
        for ns, dev, host in ((a, f"va{tag}", 1), (b, f"vb{tag}", 2)):
            ip("-n", ns, "addr", "add", f"{subnet}.{host}/24", "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")
            ip("-n", ns, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as error:
        subprocess.run(["ip", "netns", "del", a], capture_output=True)
        subprocess.run(["ip", "netns", "del", b], capture_output=True)
        pytest.skip(f"cannot create network namespaces here: {error.stderr!r}")
    try:
        yield ("ip", "netns", "exec", a), ("ip", "netns", "exec", b), f"{subnet}.1"
    finally:
        subprocess.run(["ip", "netns", "del", a], capture_output=True)
        subprocess.run(["ip", "netns", "del", b], capture_output=True)


@needs_mooncake
def test_two_network_namespaces_as_two_hosts(
    peers: Peers, two_hosts: tuple[tuple[str, ...], tuple[str, ...], str]
) -> None:
    host_a, host_b, address = two_hosts
    port = 26000
    prompt = peers.prompt(
        PROMPT_ID, port, timeout=3000, transport="mooncake", ip=address, prefix=host_a
    )
    prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1]], seed=13)
    decoder = peers.decoder(202, timeout=3000, transport="mooncake", prefix=host_b)
    assert decoder.call("link", cluster_id=PROMPT_ID, port=port, ip=address)[0] == 0
    assert decoder.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[], seed=None) == 1
    decoder.call("pull", key=[PROMPT_ID, 1], by_id=False, cache_id=1, batch_index=1)
    observed = decoder.call("read", cache_id=1)
    for tensor in range(TENSORS):
        expected = pattern(1300 + tensor, 2 * SLICE)[:SLICE]
        got = bytes.fromhex(observed[tensor])[SLICE:]
        assert got == expected, f"[netns] tensor {tensor}: {hashlib.sha256(got).hexdigest()[:12]}"
    failed = decoder.call_failing(
        "pull", key=[PROMPT_ID, 1], by_id=False, cache_id=1, batch_index=0
    )
    assert failed["status"] == S.LLM_KV_CACHE_NOT_EXIST
