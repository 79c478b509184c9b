"""link / query_register_mem_status / unlink with a rank table (the vendor's legacy sample flow),
and link's argument checks."""

from __future__ import annotations

import ctypes
import json

import pytest
from peer import pattern
from remote_support import Peers, free_port
from test_two_processes import PROMPT_ID, SHAPE, SLICE, TENSORS, decoder_engine

import llm_datadist_ref as ld

S = ld.LLMStatusCode
DECODER_ID = 202


def rank_table(prompt_port: int) -> str:
    """Rank 0 is the PROMPT (it listens: device_port); rank 1 the DECODER (it dials)."""
    return json.dumps(
        {
            "version": "1.0",
            "status": "completed",
            "server_count": "1",
            "server_list": [
                {
                    "server_id": "127.0.0.1",
                    "device": [
                        {
                            "device_id": "0",
                            "device_ip": "127.0.0.1",
                            "rank_id": "0",
                            "device_port": str(prompt_port),
                        },
                        {"device_id": "1", "device_ip": "127.0.0.1", "rank_id": "1"},
                    ],
                }
            ],
        }
    )


def test_vendor_sample_flow_with_link_and_rank_table(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    ranks = {PROMPT_ID: 0, DECODER_ID: 1}
    assert (
        prompt.call(
            "comm_link", ranks={str(k): v for k, v in ranks.items()}, rank_table=rank_table(port)
        )
        >= 1
    )
    prompt.call(
        "allocate", shape=SHAPE, tensors=TENSORS, keys=[[PROMPT_ID, 1], [PROMPT_ID, 2]], seed=6
    )
    decoder = decoder_engine()
    try:
        comm_id = decoder.link("comm", ranks, rank_table(port))
        assert decoder.query_register_mem_status(comm_id) == ld.RegisterMemStatus.OK
        dst = decoder.cache_manager.allocate_cache(
            ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8)
        )
        decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 1), dst, 0)
        assert ctypes.string_at(dst.tensor_addrs[0], SLICE) == pattern(600, 2 * SLICE)[:SLICE]
        prompt.call("remove_key", key=[PROMPT_ID, 1])  # a no-op once pulled, as in the sample
        decoder.unlink(comm_id)
        with pytest.raises(ld.LLMException) as unknown:
            decoder.query_register_mem_status(comm_id)
        assert unknown.value.status_code == S.LLM_PARAM_INVALID
        with pytest.raises(ld.LLMException) as unlinked:
            decoder.cache_manager.pull_cache(ld.CacheKey(PROMPT_ID, 2), dst, 0)
        assert unlinked.value.status_code == S.LLM_NOT_YET_LINK
    finally:
        decoder.finalize()


def test_link_to_an_absent_listener_fails_and_links_nothing() -> None:
    decoder = decoder_engine()
    try:
        with pytest.raises(ld.LLMException) as failed:
            decoder.link("comm", {PROMPT_ID: 0, DECODER_ID: 1}, rank_table(free_port()))
        assert failed.value.status_code == S.LLM_LINK_FAILED
    finally:
        decoder.finalize()


@pytest.mark.parametrize(
    ("comm_name", "ranks", "table", "error"),
    [
        (1, {PROMPT_ID: 0, DECODER_ID: 1}, "{}", TypeError),
        ("", {PROMPT_ID: 0, DECODER_ID: 1}, "{}", ld.LLMException),
        ("c" * 128, {PROMPT_ID: 0, DECODER_ID: 1}, "{}", ld.LLMException),
        ("comm", [PROMPT_ID], "{}", TypeError),
        ("comm", {PROMPT_ID: "0"}, "{}", TypeError),
        ("comm", {PROMPT_ID: 0}, "{}", ld.LLMException),
        ("comm", {PROMPT_ID: 1, DECODER_ID: 0}, "{}", ld.LLMException),
        ("comm", {-1: 0, DECODER_ID: 1}, "{}", ValueError),
        ("comm", dict.fromkeys(range(5), 0), "{}", ld.LLMException),
        ("comm", {PROMPT_ID: 0, DECODER_ID: 1}, None, TypeError),
        ("comm", {PROMPT_ID: 0, DECODER_ID: 1}, "not json", ld.LLMException),
    ],
    ids=["name-type", "name-empty", "name-long", "ranks-type", "rank-type", "one-cluster",
         "unordered", "negative-id", "five-clusters", "table-type", "table-json"],
)  # fmt: skip
def test_link_argument_checks(
    comm_name: object, ranks: object, table: object, error: type[BaseException]
) -> None:
    decoder = decoder_engine()
    try:
        with pytest.raises(error):
            decoder.link(comm_name, ranks, table)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            decoder.unlink("1")  # type: ignore[arg-type]
    finally:
        decoder.finalize()
