"""The core survives fork(): a child made after the parent used the worker pool (multiprocessing's
"fork" start method) creates its own engine and copies, splits and swaps as the parent does, and
can still use an engine it inherited (issue 13, item 2)."""

from __future__ import annotations

import multiprocessing
import threading
import warnings
from multiprocessing.connection import Connection

import numpy as np
from impl_support import Engines, fill, pool_cfg, snapshot

import llm_datadist_ref as ld

JOIN_TIMEOUT_S = 30
MIB = 1 << 20


def exercise(datadist: ld.LLMDataDist) -> None:
    """A split copy (8 MiB, on the worker pool), a 1 MiB swap-out (4 workers) and a 1 MiB staged
    swap-in (the staging ring and one worker), each checked byte for byte."""
    cm = datadist.cache_manager
    desc = ld.CacheDesc(2, [2, 4 * MIB], ld.DataType.DT_UINT8)
    src, dst = cm.allocate_cache(desc), cm.allocate_cache(desc)
    data = fill(src, 1)
    cm.copy_cache(dst, src, 1, 0)
    assert all(np.array_equal(snapshot(dst)[t][4 * MIB :], data[t][: 4 * MIB]) for t in range(2))
    device = cm.allocate_blocks_cache(ld.CacheDesc(1, [16, 64 * 1024], ld.DataType.DT_UINT8))
    host = cm.allocate_blocks_cache(
        ld.CacheDesc(1, [16, 64 * 1024], ld.DataType.DT_UINT8, ld.Placement.HOST)
    )
    blocks = fill(device, 2)
    cm.swap_blocks(device, host, {i: 15 - i for i in range(16)})
    cm.swap_blocks(host, device, {i: i for i in range(16)})
    block = 64 * 1024
    out = snapshot(device)[0]
    for i in range(16):
        expected = blocks[0][(15 - i) * block : (16 - i) * block]
        assert np.array_equal(out[i * block : (i + 1) * block], expected), f"block {i} after swaps"
    for cache in (src, dst):
        cm.deallocate_cache(cache)
    cm.deallocate_blocks_cache(device)
    cm.deallocate_blocks_cache(host)


def make(cluster_id: int) -> ld.LLMDataDist:
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True)
    config.mem_pool_cfg = pool_cfg(112 * MIB)  # room for three threads at once
    config.host_mem_pool_cfg = pool_cfg(4 * MIB)
    datadist = ld.LLMDataDist(ld.LLMRole.PROMPT, cluster_id)
    datadist.init(config.generate_options())
    return datadist


def child(inherited: ld.LLMDataDist, report: Connection) -> None:
    try:
        own = make(9002)
        exercise(own)
        own.finalize()
        exercise(inherited)
        inherited.finalize()  # the child's copy only; takes the instance's lock
        report.send("ok")
    except BaseException as error:  # reported to the parent, which fails the test
        report.send(repr(error))


def run_child(inherited: ld.LLMDataDist) -> str:
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    with warnings.catch_warnings():
        # Python >= 3.12 warns that forking a multi-threaded process may deadlock: that risk is
        # exactly what this test checks the core against.
        warnings.simplefilter("ignore", DeprecationWarning)
        process = context.Process(target=child, args=(inherited, send))
        process.start()
    process.join(JOIN_TIMEOUT_S)
    if process.is_alive():
        process.kill()
        process.join()
        return f"the forked child hung (still running after {JOIN_TIMEOUT_S} s)"
    if not receive.poll():
        return f"the forked child died with exit code {process.exitcode}"
    return str(receive.recv())


def test_a_forked_child_copies_and_swaps(engines: Engines) -> None:
    parent = make(9001)
    engines.created.append(parent)
    exercise(parent)  # the worker pool and the staging ring now exist in the parent
    outcome = run_child(parent)
    assert outcome == "ok", f"after fork: {outcome}; replay: pytest {__file__}"
    exercise(parent)  # and the parent is unaffected


def test_fork_while_other_threads_copy(engines: Engines) -> None:
    """Threads keep copying (taking and releasing the core's locks) while the main thread forks:
    the child must never inherit one of those locks held."""
    parent = make(9003)
    engines.created.append(parent)
    stop = threading.Event()
    errors: list[BaseException] = []

    def busy() -> None:
        try:
            while not stop.is_set():
                exercise(parent)
        except BaseException as error:
            errors.append(error)

    workers = [threading.Thread(target=busy) for _ in range(2)]
    for worker in workers:
        worker.start()
    try:
        outcomes = [run_child(parent) for _ in range(3)]
    finally:
        stop.set()
        for worker in workers:
            worker.join(JOIN_TIMEOUT_S)
    assert not errors, errors
    assert outcomes == ["ok"] * 3, f"forks during copies: {outcomes}"


def test_fork_while_another_thread_holds_the_front_ends_locks(engines: Engines) -> None:
    """The Python front end's locks too: held by a parent thread at fork(), free in the child."""
    from llm_datadist_ref import _datadist

    parent = make(9004)
    engines.created.append(parent)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with _datadist._directory_lock, parent._lock:
            holding.set()
            release.wait(JOIN_TIMEOUT_S)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(JOIN_TIMEOUT_S)
        outcome = run_child(parent)
    finally:
        release.set()
        holder.join(JOIN_TIMEOUT_S)
    assert outcome == "ok", f"fork while the front end's locks were held: {outcome}"
