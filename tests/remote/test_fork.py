"""A DECODER forked after it linked to a PROMPT of another process: the links to other processes
stay the parent's (shared between two processes, one mailbox page would mix up their requests),
so the child gets LLM_NOT_YET_LINK until it links again, and then both pull at once, each
byte-exact."""

from __future__ import annotations

import ctypes
import multiprocessing
import time
import warnings
from multiprocessing.connection import Connection

from remote_support import Peers, free_port
from test_two_processes import (
    PROMPT_ID,
    SHAPE,
    SLICE,
    TENSORS,
    decoder_engine,
    expected_slice,
    link,
)

import llm_datadist_ref as ld

S = ld.LLMStatusCode
JOIN_TIMEOUT_S = 30
PULLS = 300


def pull_and_check(cm: ld.CacheManager, key: ld.CacheKeyByIdAndIndex, dst: ld.Cache) -> list[str]:
    """PULLS pulls of the PROMPT's batch 1 (seed 21) into batch 0 of dst; what went wrong."""
    wrong: list[str] = []
    for attempt in range(PULLS):
        for tensor in range(TENSORS):  # a stale slice would pass unnoticed: clear it first
            ctypes.memset(dst.tensor_addrs[tensor], 0, SLICE)
        try:
            cm.pull_cache(key, dst, 0)
        except ld.LLMException as error:
            wrong.append(f"pull {attempt}: {error.status_code.name}: {error}")
            continue
        for tensor in range(TENSORS):
            if ctypes.string_at(dst.tensor_addrs[tensor], SLICE) != expected_slice(21, tensor, 1):
                wrong.append(f"pull {attempt}: tensor {tensor} holds other bytes")
    return wrong[:5]


def child(
    decoder: ld.LLMDataDist, port: int, key: ld.CacheKeyByIdAndIndex, report: Connection
) -> None:
    try:
        cm = decoder.cache_manager
        dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        try:
            cm.pull_cache(key, dst, 0)
            inherited = "LLM_SUCCESS"
        except ld.LLMException as error:
            inherited = error.status_code.name
        relinked = link(decoder, port)[0].name
        report.send(
            {"inherited": inherited, "relinked": relinked, "wrong": pull_and_check(cm, key, dst)}
        )
        decoder.finalize()  # the child's own link; the parent's stays
    except BaseException as error:  # reported to the parent, which fails the test
        report.send({"error": repr(error)})


def test_a_forked_decoder_links_again_and_both_pull_at_once(peers: Peers) -> None:
    port = free_port()
    prompt = peers.prompt(PROMPT_ID, port)
    cache_id = prompt.call("allocate", shape=SHAPE, tensors=TENSORS, keys=[], seed=21)
    decoder = decoder_engine()
    try:
        assert link(decoder, port)[0] == S.LLM_SUCCESS
        cm = decoder.cache_manager
        key = ld.CacheKeyByIdAndIndex(PROMPT_ID, cache_id, 1)  # no key: repeatable
        dst = cm.allocate_cache(ld.CacheDesc(TENSORS, SHAPE, ld.DataType.DT_UINT8))
        assert pull_and_check(cm, key, dst) == [], "before fork"
        context = multiprocessing.get_context("fork")
        receive, send = context.Pipe(duplex=False)
        with warnings.catch_warnings():
            # Python >= 3.12 warns that forking a multi-threaded process may deadlock: the
            # front end's fork hooks are what this test checks.
            warnings.simplefilter("ignore", DeprecationWarning)
            process = context.Process(target=child, args=(decoder, port, key, send))
            process.start()
        parent_wrong = pull_and_check(cm, key, dst)  # while the child pulls too
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        outcome = receive.recv() if receive.poll(JOIN_TIMEOUT_S) else None
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
        assert outcome is not None, f"the forked DECODER reported nothing (exit {process.exitcode})"
        assert "error" not in outcome, f"in the forked DECODER: {outcome['error']}"
        assert outcome["inherited"] == "LLM_NOT_YET_LINK", (
            "a pull in the child over the parent's link: expected LLM_NOT_YET_LINK, observed "
            f"{outcome['inherited']}"
        )
        assert outcome["relinked"] == "LLM_SUCCESS", "the child links again"
        assert outcome["wrong"] == [], f"the child's pulls, beside the parent's: {outcome['wrong']}"
        assert parent_wrong == [], f"the parent's pulls, beside the child's: {parent_wrong}"
        assert pull_and_check(cm, key, dst) == [], "the parent's link after the child finalized"
    finally:
        decoder.finalize()
