"""The peer RPC: a helper process runs target objects for the suite, errors travel as their kind."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

import llm_datadist_ref as ld
from datadist_conformance import replay
from datadist_conformance.context import SuiteContext
from datadist_conformance.harness import Scenario
from datadist_conformance.peer.client import PeerError, PeerProcess, RemoteObject
from datadist_conformance.speclib import load_spec
from datadist_conformance.target import load_target

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


def test_a_peer_mode_replay_snippet_runs_on_its_own() -> None:
    """In peer mode process the transcript builds the DECODER in a helper again, and pulls there."""
    context = SuiteContext(
        target=load_target("llm_datadist_ref"),
        spec=load_spec(),
        product_id="atlas-a3",
        profile="quick",
        seed=1,
        peer_mode="process",
    )
    with Scenario(context) as s:
        prompt = s.engines.start()
        decoder = s.engines.decoder_linked_to(prompt)
        assert decoder.peer is not None
        layout = s.layout(1, (1, 16))
        key = s.key(prompt.cluster_id, 9)
        s.caches.fill(s.caches.allocate(prompt, layout, [key]), 4)
        target = s.caches.allocate(decoder, layout)
        s.checker.expect_ok(decoder.cache_manager, "pull_cache", key, target.raw, 0)
        assert s.caches.read(target)[0] == replay.pattern(4 * 1009, 16)
        s.t.add(
            f"assert peer.read({s.t.render(target.raw)}, 0, 0, 16) == replay.pattern(4 * 1009, 16)"
        )
        source = s.t.source()
    assert "replay.peer_target(" in source
    assert "peer.LLMDataDist(" in source
    completed = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, f"{source}\n{completed.stderr}"
