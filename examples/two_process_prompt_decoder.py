"""A PROMPT and a DECODER in two processes, with llm_datadist_ref standing in for llm_datadist.

    python examples/two_process_prompt_decoder.py

The PROMPT (a child process) listens at llm.listenIpInfo, fills a cache bound to two keys and
releases its own reference at once, as vLLM's connectors do. The DECODER (this process) links with
link_clusters, pulls by CacheKey and by CacheKeyByIdAndIndex, sees that a pulled key is gone, and
then sees the PROMPT die in the middle of a pull: the call raises LLMException within
sync_kv_timeout. Written against the vendor's names only; no torch needed.
"""

from __future__ import annotations

import ctypes
import socket
import subprocess
import sys
import threading
import time

import llm_datadist_ref

llm_datadist_ref.install_as_llm_datadist()

from llm_datadist import (  # noqa: E402  (the drop-in must be installed first)
    CacheDesc,
    CacheKey,
    CacheKeyByIdAndIndex,
    DataType,
    LLMClusterInfo,
    LLMConfig,
    LLMDataDist,
    LLMException,
    LLMRole,
)

PROMPT_CLUSTER, DECODER_CLUSTER = 1, 2
DESC = CacheDesc(num_tensors=2, shape=[2, 4096], data_type=DataType.DT_UINT8)  # 2 layers, batch 2


def config(listen: str | None = None) -> dict[str, str]:
    cfg = LLMConfig()
    cfg.device_id = 0
    cfg.enable_cache_manager = True
    cfg.mem_pool_cfg = '{"memory_size": 16777216, "page_shift": 16}'
    cfg.sync_kv_timeout = 1000
    if listen:
        cfg.listen_ip_info = listen
    return cfg.generate_options()


def prompt(port: int) -> None:
    datadist = LLMDataDist(LLMRole.PROMPT, PROMPT_CLUSTER)
    datadist.init(config(f"127.0.0.1:{port}"))
    cm = datadist.cache_manager
    cache = cm.allocate_cache(
        DESC, [CacheKey(PROMPT_CLUSTER, req_id=10), CacheKey(PROMPT_CLUSTER, req_id=11)]
    )
    for layer, address in enumerate(cache.tensor_addrs):
        ctypes.memset(address, ord("a") + layer, DESC.size)  # "KV" bytes: layer 0 'a', layer 1 'b'
    cm.deallocate_cache(cache)  # deferred: the keys keep the cache until the DECODER pulls them
    print(cache.cache_id, flush=True)
    sys.stdin.readline()  # the DECODER says when to stall the next pull
    from llm_datadist_ref import _core

    _core.set_operation_delay("pull_cache", 60_000)  # serve the next pull very slowly
    print("stalling", flush=True)
    time.sleep(120)


def decoder() -> None:
    with socket.socket() as probe:  # a free loopback port for the PROMPT
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen([sys.executable, __file__, "--prompt", str(port)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        cache_id = int(child.stdout.readline())
        datadist = LLMDataDist(LLMRole.DECODER, DECODER_CLUSTER)
        datadist.init(config())
        cluster = LLMClusterInfo()
        cluster.remote_cluster_id = PROMPT_CLUSTER
        cluster.append_local_ip_info("127.0.0.1", 0)
        cluster.append_remote_ip_info("127.0.0.1", port)
        print("link_clusters:", datadist.link_clusters([cluster], timeout=3000))
        cm = datadist.cache_manager
        local = cm.allocate_cache(DESC)
        cm.pull_cache(CacheKey(PROMPT_CLUSTER, req_id=10), local, batch_index=0)
        print("pulled by key:", ctypes.string_at(local.tensor_addrs[1], 4))
        try:
            cm.pull_cache(CacheKey(PROMPT_CLUSTER, req_id=10), local, batch_index=0)
        except LLMException as error:
            print("second pull of the same key:", error.status_code.name)
        cm.pull_cache(CacheKeyByIdAndIndex(PROMPT_CLUSTER, cache_id, 1), local, batch_index=1)
        print("pulled by id and index: the PROMPT's deferred release is now complete")
        child.stdin.write("stall\n")
        child.stdin.flush()
        child.stdout.readline()
        threading.Timer(0.3, child.kill).start()  # the PROMPT dies while the pull below waits on it
        start = time.monotonic()
        try:
            cm.pull_cache(CacheKeyByIdAndIndex(PROMPT_CLUSTER, cache_id, 0), local, batch_index=0)
        except LLMException as error:
            elapsed = time.monotonic() - start
            print(f"pull from a dead PROMPT: {error.status_code.name} after {elapsed:.2f} s")
        print("the DECODER's own cache is intact:", ctypes.string_at(local.tensor_addrs[0], 4))
        datadist.finalize()
    finally:
        child.kill()
        child.wait()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--prompt":
        prompt(int(sys.argv[2]))
    else:
        decoder()
