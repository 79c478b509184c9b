"""The two-process flow of issue 11: a PROMPT process listens, this process (the DECODER) links,
pulls by key and by id and index, pulls blocks, pushes; every pull is checked byte for byte."""

from __future__ import annotations

import ctypes
import socket
from collections.abc import Iterator

import pytest
from peer import pattern
from remote_support import Peers, free_port, no_mailbox

import llm_datadist_ref as ld
from llm_datadist_ref import testing
from llm_datadist_ref._remote.link import RemoteLink

S = ld.LLMStatusCode
PROMPT_ID, DECODER_ID = 101, 202
SHAPE, TENSORS = [2, 4096], 2  # two batch slices of 4 KiB per tensor
SLICE = SHAPE[1]


def decoder_engine(
    timeout: int = 1000,
    remote: bool = False,
    pool: str = '{"memory_size": 16777216, "page_shift": 16}',
) -> ld.LLMDataDist:
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True, sync_kv_timeout=timeout)
    config.mem_pool_cfg = pool
    config.enable_remote_cache_accessible = remote
    options = config.generate_options()
    options["llm_datadist_ref.transport"] = "auto"
    decoder = ld.LLMDataDist(ld.LLMRole.DECODER, DECODER_ID)
    decoder.init(options)
    return decoder


@pytest.fixture
def decoder() -> Iterator[ld.LLMDataDist]:
    engine = decoder_engine()
    yield engine
    engine.finalize()


def link(decoder: ld.LLMDataDist, port: int, cluster_id: int = PROMPT_ID) -> tuple[S, list[S]]:
    cluster = ld.LLMClusterInfo()
    cluster.remote_cluster_id = cluster_id
    cluster.append_local_ip_info("127.0.0.1", 0)
    cluster.append_remote_ip_info("127.0.0.1", port)
    return decoder.link_clusters([cluster], 3000)


def tensor_bytes(cache: ld.Cache, tensor: int, start: int = 0, size: int | None = None) -> bytes:
    size = cache.cache_desc.size - start if size is None else size
    return ctypes.string_at(cache.tensor_addrs[tensor] + start, size)


def expected_slice(seed: int, tensor: int, batch: int) -> bytes:
    """Batch slice `batch` of tensor `tensor` of a cache the peer filled with `seed`."""
    full = pattern(seed * 100 + tensor, SHAPE[0] * SHAPE[1])
    return full[batch * SLICE : (batch + 1) * SLICE]


def assert_slice(cache: ld.Cache, batch: int, seed: int, src_batch: int, what: str) -> None:
    for tensor in range(TENSORS):
        observed = tensor_bytes(cache, tensor, batch * SLICE, SLICE)
        assert observed == expected_slice(seed, tensor, src_batch), (
            f"[{what}] tensor {tensor} batch {batch}: expected the PROMPT's batch {src_batch} "
            f"bytes (seed {seed}), observed {observed[:8].hex()}..."
        )


@pytest.mark.usefixtures("data_plane")
def test_pull_by_key_releases_it_and_completes_deferred_release(
    peers: Peers, decoder: ld.LLMDataDist
) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    cache_id = prompt.call(
        "allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1], [PROMPT_ID, 2]], seed=7
    )
    prompt.call("deallocate", cache_id=cache_id)  # deferred: both keys still hold it
    assert link(decoder, port) == (S.LLM_SUCCESS, [S.LLM_SUCCESS])
    cm = decoder.cache_manager
    dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))

    cm.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 1)
    assert_slice(dst, 1, seed=7, src_batch=0, what="pull_cache by CacheKey")
    with pytest.raises(ld.LLMException) as second:
        cm.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 0)
    assert second.value.status_code == S.LLM_KV_CACHE_NOT_EXIST, "a pulled key is released"
    assert prompt.call("state")["caches"] == [cache_id], "one key still holds the cache"

    cm.pull_cache(ld.CacheKeyByIdAndIndex(PROMPT_ID, cache_id, 1), dst, 0)
    assert_slice(dst, 0, seed=7, src_batch=1, what="pull_cache by CacheKeyByIdAndIndex")
    state = prompt.call("state")
    done = (
        f"the pull by id and index released the last key: the deferred release completes ({state})"
    )
    assert state["caches"] == [], done
    assert state["used_pages"] == 0, done
    assert state["leases"] == 0, "every lease ended with its commit"
    with pytest.raises(ld.LLMException) as gone:
        cm.pull_cache(ld.CacheKeyByIdAndIndex(PROMPT_ID, cache_id, 0), dst, 0)
    assert gone.value.status_code == S.LLM_KV_CACHE_NOT_EXIST


@pytest.mark.usefixtures("data_plane")
def test_removed_key_is_not_pullable_and_failed_pull_releases_nothing(
    peers: Peers, decoder: ld.LLMDataDist
) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    prompt.call(
        "allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1], [PROMPT_ID, 2]], seed=3
    )
    assert link(decoder, port)[0] == S.LLM_SUCCESS
    cm = decoder.cache_manager
    dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
    small = cm.allocate_cache(ld.CacheDesc(TENSORS, [2, 1024], ld.DataType.DT_UINT8))

    prompt.call("remove_key", key=[PROMPT_ID, 1])
    with pytest.raises(ld.LLMException) as removed:
        cm.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 0)
    assert removed.value.status_code == S.LLM_KV_CACHE_NOT_EXIST
    keys_before = prompt.call("state")
    with pytest.raises(ld.LLMException):  # 4 KiB slices do not fit 1 KiB ones: the copy fails
        cm.pull_cache(ld.CacheKey(PROMPT_ID, 2), small, 0)
    assert prompt.call("state") == keys_before, (
        "a failed pull releases nothing (and leaves no lease)"
    )
    cm.pull_cache(ld.CacheKey(PROMPT_ID, 2), dst, 0)
    assert_slice(dst, 0, seed=3, src_batch=1, what="pull after a failed pull")


@pytest.mark.usefixtures("data_plane")
def test_pull_blocks_and_push_cache(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port, remote=True)
    decoder = decoder_engine(remote=True)
    try:
        blocks_id = prompt.call(
            "allocate", shape=[4, 1024], tensors=TENSORS, keys=[], seed=11, blocks=True, model_id=0
        )
        target_id = prompt.call(
            "allocate",
            shape=SHAPE,
            tensors=TENSORS,
            keys=[[PROMPT_ID, 5], [PROMPT_ID, 6]],
            seed=None,
        )
        assert link(decoder, port)[0] == S.LLM_SUCCESS
        cm = decoder.cache_manager
        local = cm.allocate_blocks_cache(ld.CacheDesc(TENSORS, [4, 1024], ld.DataType.DT_UINT8))
        cm.pull_blocks(ld.BlocksCacheKey(PROMPT_ID, 0), local, [3, 0], [0, 2])
        for tensor in range(TENSORS):
            full = pattern(11 * 100 + tensor, 4 * 1024)
            assert tensor_bytes(local, tensor, 0, 1024) == full[3 * 1024 :], (
                "[pull_blocks] block 3 -> 0"
            )
            assert tensor_bytes(local, tensor, 2 * 1024, 1024) == full[:1024], (
                "[pull_blocks] block 0 -> 2"
            )
        # Lists the core's quick path leaves to the front end's checks: refused, or taken.
        with pytest.raises(TypeError):
            cm.pull_blocks(ld.BlocksCacheKey(PROMPT_ID, 0), local, [1.0], [1])  # type: ignore[list-item]
        cm.pull_blocks(ld.BlocksCacheKey(PROMPT_ID, 0), local, [True], (3,))  # bool is an int
        for tensor in range(TENSORS):
            full = pattern(11 * 100 + tensor, 4 * 1024)
            assert tensor_bytes(local, tensor, 3 * 1024, 1024) == full[1024 : 2 * 1024], (
                "[pull_blocks] block True (1) -> 3, through the checked path"
            )
        assert prompt.call("state")["caches"] == [blocks_id, target_id] or sorted(
            prompt.call("state")["caches"]
        ) == sorted([blocks_id, target_id])

        src = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        for tensor in range(TENSORS):
            ctypes.memmove(src.tensor_addrs[tensor], pattern(50 + tensor, 2 * SLICE), 2 * SLICE)
        cm.push_cache(ld.CacheKeyByIdAndIndex(PROMPT_ID, target_id, 1), src, 0)
        pushed = prompt.call("read", cache_id=target_id)
        for tensor in range(TENSORS):
            written = bytes.fromhex(pushed[tensor])[SLICE:]
            assert written == pattern(50 + tensor, 2 * SLICE)[:SLICE], (
                "[push_cache] batch 0 -> remote batch 1"
            )
        prompt.call("remove_key", key=[PROMPT_ID, 5])
        prompt.call("deallocate", cache_id=target_id)
        assert target_id not in prompt.call("state")["caches"], (
            "the push released key 6; remove released key 5"
        )
    finally:
        decoder.finalize()


def test_the_common_pulls_to_another_process_take_the_mailbox_in_one_core_call(
    peers: Peers, decoder: ld.LLMDataDist, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pull_cache and pull_blocks with every argument as the checks would pass it, to a PROMPT
    of this host: the front end finds the link without raising and the core does lease, copy
    and commit through the mailbox; neither the checked path nor the control socket is used."""
    used: list[str] = []

    def checked(*args: object) -> None:
        used.append(f"checked path {args[1:]}")
        raise AssertionError(used[-1])

    def over_socket(self: RemoteLink, message: dict[str, object], deadline: object) -> None:
        used.append(f"socket {message['op']}")
        raise AssertionError(used[-1])

    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    cache_id = prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 4]], seed=9)
    prompt.call(
        "allocate", shape=[4, 1024], tensors=TENSORS, keys=[], seed=13, blocks=True, model_id=0
    )
    assert link(decoder, port)[0] == S.LLM_SUCCESS
    cm = decoder.cache_manager
    dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
    local = cm.allocate_blocks_cache(ld.CacheDesc(TENSORS, [4, 1024], ld.DataType.DT_UINT8))
    monkeypatch.setattr(ld.CacheManager, "_pull_cache_checked", checked)
    monkeypatch.setattr(ld.CacheManager, "_pull_blocks_checked", checked)
    monkeypatch.setattr(RemoteLink, "request", over_socket)
    cm.pull_cache(ld.CacheKey(PROMPT_ID, 4), dst, 1)
    cm.pull_cache(ld.CacheKeyByIdAndIndex(PROMPT_ID, cache_id, 1), dst, 0)
    cm.pull_blocks(ld.BlocksCacheKey(PROMPT_ID, 0), local, [2], [1])
    monkeypatch.undo()
    assert used == [], f"a common pull left the quick path: {used}"
    assert_slice(dst, 1, seed=9, src_batch=0, what="quick pull_cache by CacheKey")
    assert_slice(dst, 0, seed=9, src_batch=1, what="quick pull_cache by id and index")
    for tensor in range(TENSORS):
        full = pattern(13 * 100 + tensor, 4 * 1024)
        assert tensor_bytes(local, tensor, 1024, 1024) == full[2 * 1024 : 3 * 1024], (
            f"[quick pull_blocks] tensor {tensor}: block 2 -> 1"
        )
    assert prompt.call("state")["keys"] == 0, "the quick pull by CacheKey released the key"


def test_listen_address_in_use_fails_init_cleanly() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = ld.LLMConfig(
            device_id=0, enable_cache_manager=True, listen_ip_info=f"127.0.0.1:{port}"
        )
        options = config.generate_options()
        options["llm_datadist_ref.transport"] = "auto"
        prompt = ld.LLMDataDist(ld.LLMRole.PROMPT, PROMPT_ID)
        with pytest.raises(ld.LLMException) as in_use:
            prompt.init(options)
        assert in_use.value.status_code == S.LLM_FAILED, in_use.value
        assert str(port) in str(in_use.value), "the message names the address"
        with pytest.raises(RuntimeError):
            _ = prompt.cache_manager  # nothing half-initialized
    options["llm.listenIpInfo"] = f"127.0.0.1:{free_port()}"
    prompt.init(options)
    prompt.finalize()


def test_not_linked_and_unlink_statuses(peers: Peers, decoder: ld.LLMDataDist) -> None:
    port = free_port()
    peers.prompt(PROMPT_ID, port)
    cluster = ld.LLMClusterInfo()
    cluster.remote_cluster_id = PROMPT_ID
    cluster.append_remote_ip_info("127.0.0.1", port)
    wrong = ld.LLMClusterInfo()
    wrong.remote_cluster_id = PROMPT_ID + 1  # nobody serves this id there
    wrong.append_remote_ip_info("127.0.0.1", port)
    assert decoder.link_clusters([cluster, wrong], 2000) == (
        S.LLM_LINK_FAILED,
        [S.LLM_SUCCESS, S.LLM_LINK_FAILED],
    )
    assert decoder.unlink_clusters([cluster]) == (S.LLM_SUCCESS, [S.LLM_SUCCESS])
    assert decoder.unlink_clusters([cluster]) == (S.LLM_UNLINK_FAILED, [S.LLM_NOT_YET_LINK])
    dst = decoder.cache_manager.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
    with pytest.raises(ld.LLMException) as unlinked:
        decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 0)
    assert unlinked.value.status_code == S.LLM_NOT_YET_LINK
    assert testing.live_cache_ids(decoder) == [dst.cache_id]


def test_byte_checks_catch_a_pull_of_the_wrong_slice(
    peers: Peers, decoder: ld.LLMDataDist, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Meta-check: a data plane that reads the neighbouring batch slice fails assert_slice (on the
    control socket's path; tests/impl/test_mailbox.py has the mailbox's)."""
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1]], seed=8)
    no_mailbox(monkeypatch)
    assert link(decoder, port)[0] == S.LLM_SUCCESS
    leased = RemoteLink._leased

    def off_by_one(self: RemoteLink, reply: dict[str, object]) -> object:
        number, region, layout = leased(self, reply)
        return number, region, (*layout[:4], (layout[4] + 1) % SHAPE[0], layout[5])

    monkeypatch.setattr(RemoteLink, "_leased", off_by_one)
    dst = decoder.cache_manager.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
    decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 0)
    with pytest.raises(AssertionError, match="pull_cache by CacheKey"):
        assert_slice(dst, 0, seed=8, src_batch=0, what="pull_cache by CacheKey")


def test_a_cache_of_more_tensors_than_a_mailbox_holds_goes_over_the_socket(
    peers: Peers, monkeypatch: pytest.MonkeyPatch
) -> None:
    many, small_pages = 4097, '{"memory_size": 33554432, "page_shift": 12}'
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port, pool=small_pages)
    prompt.call("allocate", shape=[1, 64], tensors=many, keys=[[PROMPT_ID, 9]], seed=5)
    decoder = decoder_engine(pool=small_pages)
    sent: list[str] = []
    over_socket = RemoteLink.request

    def recording(self: RemoteLink, message: dict[str, object], deadline: object) -> object:
        sent.append(str(message["op"]))
        return over_socket(self, message, deadline)  # type: ignore[arg-type]

    monkeypatch.setattr(RemoteLink, "request", recording)
    try:
        assert link(decoder, port)[0] == S.LLM_SUCCESS
        cm = decoder.cache_manager
        dst = cm.allocate_cache(ld.CacheDesc(many, [1, 64], ld.DataType.DT_UINT8))
        cm.pull_cache(ld.CacheKey(PROMPT_ID, 9), dst, 0)
        for tensor in (0, many - 1):
            assert tensor_bytes(dst, tensor) == pattern(500 + tensor, 64), (
                f"[pull_cache of {many} tensors] tensor {tensor}: the PROMPT's bytes"
            )
        described = f"a cache the mailbox cannot describe goes over the socket: {sent}"
        assert sent.count("lease") == 1, described
        assert sent.count("commit") == 1, described
        with pytest.raises(ld.LLMException) as released:
            cm.pull_cache(ld.CacheKey(PROMPT_ID, 9), dst, 0)
        assert released.value.status_code == S.LLM_KV_CACHE_NOT_EXIST, "the commit released it"
    finally:
        decoder.finalize()
