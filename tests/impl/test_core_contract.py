"""The private core validates its own input, as its docs say (issue 13, item 4): a timeout the
clock cannot represent is refused, and caller memory given to swap_blocks by address is checked
as far as it can be without touching it. What stays trusted is stated in _core.pyi and
impl/README.md ("Trust boundary")."""

from __future__ import annotations

import ctypes
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import llm_datadist_ref as ld
from llm_datadist_ref import _core

MAX_TIMEOUT_MS = 10**12
PAGE = 4096


@pytest.mark.parametrize("timeout_ms", [MAX_TIMEOUT_MS + 1, 2**62, 2**63 - 1, 0, -1])
def test_engine_refuses_a_timeout_out_of_range(timeout_ms: int) -> None:
    with pytest.raises(ValueError, match="sync_kv_timeout"):
        _core.Engine(timeout_ms, (1 << 20, 12), None)


def test_engine_takes_the_largest_timeout() -> None:
    engine = _core.Engine(MAX_TIMEOUT_MS, (1 << 20, 12), None)
    cache_id, _ = engine.allocate(1, 1, 4096, 1, False, (), None)
    engine.copy_cache(
        cache_id, cache_id, 0, 0, 0, -1
    )  # the deadline check itself must not overflow
    engine.finalize()


# Each bad address runs in a child process: on a core that trusts it, the child dies by SIGSEGV
# (or is aborted by ASan) instead of failing an assertion in this process.
SWAP_WITH_ADDRESS = textwrap.dedent(
    """
    import ctypes, sys
    import numpy as np
    import llm_datadist_ref as ld
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True)
    config.mem_pool_cfg = '{"memory_size": 1048576, "page_shift": 12}'
    config.host_mem_pool_cfg = '{"memory_size": 1048576, "page_shift": 12}'
    dd = ld.LLMDataDist(ld.LLMRole.PROMPT, 1)
    dd.init(config.generate_options())
    cm = dd.cache_manager
    device = cm.allocate_blocks_cache(ld.CacheDesc(2, [2, 4096], ld.DataType.DT_UINT8))
    host = cm.allocate_blocks_cache(ld.CacheDesc(1, [2, 4096], ld.DataType.DT_UINT8, ld.Placement.HOST))
    keep = np.zeros(8192, dtype=np.uint8)


    def hole() -> int:
        # A page followed by an unmapped one, made last, so no allocation can reuse the hole.
        libc = ctypes.CDLL(None)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        base = libc.mmap(None, 8192, 3, 0x22, -1, 0)  # PROT_READ|WRITE, MAP_PRIVATE|ANONYMOUS
        libc.munmap(ctypes.c_void_p(base + 4096), 4096)
        return base


    addresses = {
        "eight": lambda: [8, keep.ctypes.data],
        "null_page": lambda: [4096, keep.ctypes.data],
        "top": lambda: [2**63 - 4096, keep.ctypes.data],
        "device_pool": lambda: [device.tensor_addrs[0], keep.ctypes.data],
        "host_pool": lambda: [host.tensor_addrs[0] + 4096, keep.ctypes.data],
        "same_tensor_twice": lambda: [keep.ctypes.data, keep.ctypes.data],
        "overlapping": lambda: [keep.ctypes.data, keep.ctypes.data + 4096],
        "short": lambda: [hole(), keep.ctypes.data],
    }[sys.argv[1]]()
    cpu = ld.Cache.create_cpu_cache(
        ld.CacheDesc(2, [2, 4096], ld.DataType.DT_UINT8, ld.Placement.HOST), addresses
    )
    for src, dst in ((device, cpu), (cpu, device)):
        try:
            cm.swap_blocks(src, dst, {0: 0, 1: 1})
        except ValueError as error:
            print("ValueError:", error)
        else:
            print("accepted")
    """
)


@pytest.mark.parametrize(
    "case",
    [
        "eight",
        "null_page",
        "top",
        "device_pool",
        "host_pool",
        "same_tensor_twice",
        "overlapping",
        "short",
    ],
)
def test_swap_refuses_caller_addresses_it_can_tell_are_wrong(case: str) -> None:
    script, extra = SWAP_WITH_ADDRESS, [case]
    done = subprocess.run(
        [sys.executable, "-c", script, *extra],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    observed = (
        f"observed exit {done.returncode}, stdout {done.stdout!r}, "
        f"stderr tail {done.stderr[-600:]!r}; replay: python -c <SWAP_WITH_ADDRESS> {case}"
    )
    clause = (
        f"swap_blocks with a cpu cache at a bad address ({case}): expected ValueError both ways"
    )
    assert done.returncode == 0, f"{clause}, {observed}"
    lines = done.stdout.splitlines()
    assert len(lines) == 2, f"{clause}, {observed}"
    assert all(line.startswith("ValueError") for line in lines), f"{clause}, {observed}"


def test_swap_still_takes_good_caller_memory() -> None:
    config = ld.LLMConfig(device_id=0, enable_cache_manager=True)
    config.mem_pool_cfg = '{"memory_size": 1048576, "page_shift": 12}'
    dd = ld.LLMDataDist(ld.LLMRole.PROMPT, 77)
    dd.init(config.generate_options())
    try:
        cm = dd.cache_manager
        device = cm.allocate_blocks_cache(ld.CacheDesc(2, [2, PAGE], ld.DataType.DT_UINT8))
        arrays = [np.full(2 * PAGE, 5 + i, dtype=np.uint8) for i in range(2)]
        cpu = ld.Cache.create_cpu_cache(
            ld.CacheDesc(2, [2, PAGE], ld.DataType.DT_UINT8, ld.Placement.HOST),
            [arrays[0].ctypes.data, arrays[1]],
        )
        cm.swap_blocks(cpu, device, {1: 0})
        for t in range(2):
            view = (ctypes.c_uint8 * PAGE).from_address(device.tensor_addrs[t])
            assert bytes(view) == bytes([5 + t]) * PAGE
    finally:
        dd.finalize()
