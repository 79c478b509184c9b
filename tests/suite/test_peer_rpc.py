"""The peer RPC: a helper process runs target objects for the suite, errors travel as their kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import llm_datadist_ref as ld
from datadist_conformance.peer.client import PeerError, PeerProcess, RemoteObject

ADAPTER = "llm_datadist_ref.conformance_adapter:ReferenceAdapter"


@pytest.fixture(scope="module")
def peer() -> Iterator[PeerProcess]:
    helper = PeerProcess(ld, ADAPTER)
    yield helper
    helper.stop()


def _engine(peer: PeerProcess) -> RemoteObject:
    config = peer.construct("LLMConfig")()
    config.device_id = 0
    config.enable_cache_manager = True
    config.mem_pool_cfg = '{"memory_size": 1048576, "page_shift": 12}'
    options = config.generate_options()
    assert options["llm.EnableCacheManager"] == "1"
    datadist = peer.construct("LLMDataDist")(ld.LLMRole.DECODER, 77)
    datadist.init({**options, "llm_datadist_ref.transport": "in-process"})
    return datadist  # type: ignore[no-any-return]


def test_objects_live_in_the_helper_and_bytes_go_through_its_adapter(peer: PeerProcess) -> None:
    datadist = _engine(peer)
    try:
        desc = ld.CacheDesc(2, [2, 8], ld.DataType.DT_UINT8)
        peer.recipes.remember(desc, "CacheDesc", (2, [2, 8], ld.DataType.DT_UINT8), {})
        cache = datadist.cache_manager.allocate_cache(desc)
        assert isinstance(cache, RemoteObject)
        assert len(cache.tensor_addrs) == 2
        assert cache.cache_desc.placement == ld.Placement.DEVICE  # enums come back as the target's
        peer.write(cache, 1, 3, b"\x01\x02")
        assert peer.read(cache, 1, 0, 6) == b"\x00\x00\x00\x01\x02\x00"
    finally:
        datadist.finalize()
        peer.forget()


def test_the_targets_exceptions_come_back_as_their_kind(peer: PeerProcess) -> None:
    datadist = _engine(peer)
    try:
        cm = datadist.cache_manager
        empty = ld.CacheDesc(0, [2, 8], ld.DataType.DT_UINT8)
        peer.recipes.remember(empty, "CacheDesc", (0, [2, 8], ld.DataType.DT_UINT8), {})
        with pytest.raises(ld.LLMException) as semantic:
            cm.allocate_cache(empty)
        assert semantic.value.status_code == ld.LLMStatusCode.LLM_PARAM_INVALID
        with pytest.raises(TypeError, match="raised in the peer process"):
            cm.allocate_cache("not a CacheDesc")
    finally:
        datadist.finalize()
        peer.forget()


def test_an_object_the_suite_did_not_build_cannot_be_sent(peer: PeerProcess) -> None:
    with pytest.raises(PeerError, match="not built by the suite"):
        peer.request("new", "CacheKey", (ld.CacheKey(1, 2),), {})


def test_a_helper_that_dies_is_a_peer_error_not_a_target_error() -> None:
    helper = PeerProcess(ld, ADAPTER)
    helper.process.kill()
    helper.process.wait()
    with pytest.raises(PeerError, match=r"ended|gone"):
        helper.request("ping")
    assert not helper.alive
