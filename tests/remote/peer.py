"""A PROMPT or DECODER in a process of its own, driven by JSON lines on stdin (one command, one
reply per line). Started by tests/remote with the installed package, from any directory."""

from __future__ import annotations

import ctypes
import hashlib
import json
import sys
import time
import traceback
from typing import Any

import llm_datadist_ref as ld
from llm_datadist_ref import testing

POOL = '{"memory_size": 67108864, "page_shift": 16}'


def pattern(seed: int, size: int) -> bytes:
    """Deterministic bytes both sides can compute."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


class Peer:
    def __init__(self) -> None:
        self.dd: ld.LLMDataDist | None = None
        self.caches: dict[int, ld.Cache] = {}

    @property
    def cm(self) -> Any:
        assert self.dd is not None
        return self.dd.cache_manager

    def init(
        self,
        role: str,
        cluster_id: int,
        listen: str | None,
        timeout: int,
        remote: bool,
        transport: str = "auto",
        pool: str = POOL,
    ) -> None:
        config = ld.LLMConfig(device_id=0, enable_cache_manager=True, sync_kv_timeout=timeout)
        config.mem_pool_cfg = pool
        config.enable_remote_cache_accessible = remote
        if listen:
            config.listen_ip_info = listen
        options = config.generate_options()
        options["llm_datadist_ref.transport"] = transport
        self.dd = ld.LLMDataDist(ld.LLMRole[role], cluster_id)
        self.dd.init(options)

    def link(
        self, cluster_id: int, port: int, timeout: int = 3000, ip: str = "127.0.0.1"
    ) -> list[int]:
        assert self.dd is not None
        cluster = ld.LLMClusterInfo()
        cluster.remote_cluster_id = cluster_id
        cluster.append_remote_ip_info(ip, port)
        status, per_cluster = self.dd.link_clusters([cluster], timeout)
        return [int(status), *map(int, per_cluster)]

    def comm_link(self, ranks: dict[str, int], rank_table: str) -> int:
        assert self.dd is not None
        return self.dd.link("comm", {int(k): v for k, v in ranks.items()}, rank_table)

    def allocate(
        self,
        shape: list[int],
        tensors: int,
        keys: list[list[int]],
        seed: int | None,
        blocks: bool = False,
        model_id: int | None = None,
    ) -> int:
        desc = ld.CacheDesc(tensors, shape, ld.DataType.DT_UINT8)
        if blocks:
            key = None if model_id is None else ld.BlocksCacheKey(0, model_id)
            cache = self.cm.allocate_blocks_cache(desc, key)
        else:
            cache = self.cm.allocate_cache(desc, [ld.CacheKey(*k) for k in keys])
        if seed is not None:
            for index, address in enumerate(cache.tensor_addrs):
                data = pattern(seed * 100 + index, desc.size)
                ctypes.memmove(address, data, len(data))
        self.caches[cache.cache_id] = cache
        return int(cache.cache_id)

    def read(self, cache_id: int) -> list[str]:
        cache = self.caches[cache_id]
        return [ctypes.string_at(a, cache.cache_desc.size).hex() for a in cache.tensor_addrs]

    def digest(self, cache_id: int) -> list[str]:
        cache = self.caches[cache_id]
        return [
            hashlib.sha256(ctypes.string_at(a, cache.cache_desc.size)).hexdigest()
            for a in cache.tensor_addrs
        ]

    def pull(self, key: list[int], by_id: bool, cache_id: int, batch_index: int) -> float:
        target = ld.CacheKeyByIdAndIndex(*key) if by_id else ld.CacheKey(*key)
        start = time.monotonic()
        self.cm.pull_cache(target, self.caches[cache_id], batch_index)
        return time.monotonic() - start

    def pull_blocks(
        self, cluster_id: int, model_id: int, cache_id: int, src: list[int], dst: list[int]
    ) -> None:
        self.cm.pull_blocks(
            ld.BlocksCacheKey(cluster_id, model_id), self.caches[cache_id], src, dst
        )

    def push(self, key: list[int], cache_id: int, src_batch_index: int) -> None:
        self.cm.push_cache(ld.CacheKeyByIdAndIndex(*key), self.caches[cache_id], src_batch_index)

    def deallocate(self, cache_id: int) -> None:
        self.cm.deallocate_cache(self.caches[cache_id])

    def remove_key(self, key: list[int]) -> None:
        self.cm.remove_cache_key(ld.CacheKey(*key))

    def state(self) -> dict[str, Any]:
        assert self.dd is not None
        listener = self.dd._listener
        return {
            "caches": testing.live_cache_ids(self.dd),
            "keys": testing.bound_key_count(self.dd),
            "used_pages": getattr(
                testing.pool_usage(self.dd, ld.Placement.DEVICE), "used_pages", None
            ),
            "leases": listener.lease_count if listener else None,
            "sessions": listener.session_count if listener else None,
            "mooncake_open": self.dd._links._mooncake is not None,
        }

    def delay(self, operation: str, ms: int) -> None:
        from llm_datadist_ref import _core

        _core.set_operation_delay(operation, ms)

    def raw_lease(self, cluster_id: int, key: list[int]) -> int:
        """Takes a lease as a pull would, and never commits it (a DECODER dying mid-pull)."""
        assert self.dd is not None
        link = self.dd._links.remote_link(cluster_id)
        assert link is not None, f"no link to cluster {cluster_id}"
        from llm_datadist_ref._remote.link import _Deadline

        reply = link.request(
            {
                "op": "lease",
                "kind": 0,
                "a": key[1],
                "b": 2**64 - 1,
                "c": key[2] if len(key) > 2 else 0,
                "blocks": False,
                "ms": 60000,
            },
            _Deadline(3000),
        )
        return int(reply["lease"])

    def finalize(self) -> None:
        if self.dd is not None:
            self.dd.finalize()


def main() -> None:
    peer = Peer()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        name = command.pop("cmd")
        try:
            result = getattr(peer, name)(**command)
            reply: dict[str, Any] = {"ok": True, "result": result}
        except ld.LLMException as error:
            reply = {"ok": False, "status": int(error.status_code), "error": str(error)}
        except Exception as error:
            reply = {
                "ok": False,
                "status": None,
                "error": f"{type(error).__name__}: {error}",
                "trace": traceback.format_exc(),
            }
        print(json.dumps(reply), flush=True)
        if name == "finalize":
            return


if __name__ == "__main__":
    main()
