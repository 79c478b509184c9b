"""Helpers of the reference implementation's unit tests: engines with small pools, linked pairs,
and byte access to cache tensors."""

from __future__ import annotations

import ctypes
import itertools
import json
from typing import Any

import numpy as np

import llm_datadist_ref as ld

POOL_BYTES = 4 * 2**20  # 4 MiB: tests stay small on a shared 2-core machine
_cluster_ids = itertools.count(1000)
_ports = itertools.count(30000)


def pool_cfg(memory_size: int = POOL_BYTES, page_shift: int | None = None) -> str:
    config: dict[str, int] = {"memory_size": memory_size}
    if page_shift is not None:
        config["page_shift"] = page_shift
    return json.dumps(config)


class Engines:
    """Creates LLMDataDist instances and finalizes them all at teardown."""

    def __init__(self) -> None:
        self.created: list[ld.LLMDataDist] = []

    def make(
        self,
        role: ld.LLMRole = ld.LLMRole.PROMPT,
        *,
        device_pool: str | None = None,
        host_pool: str | None = None,
        product: str | None = None,
        sync_kv_timeout: int | None = None,
        remote_cache_accessible: bool | None = None,
        listen: bool = True,
        cluster_id: int | None = None,
    ) -> ld.LLMDataDist:
        config = ld.LLMConfig(device_id=0, enable_cache_manager=True)
        config.mem_pool_cfg = pool_cfg() if device_pool is None else device_pool
        config.host_mem_pool_cfg = pool_cfg() if host_pool is None else host_pool
        if sync_kv_timeout is not None:
            config.sync_kv_timeout = sync_kv_timeout
        if remote_cache_accessible is not None:
            config.enable_remote_cache_accessible = remote_cache_accessible
        port = next(_ports)
        if listen:
            config.listen_ip_info = f"127.0.0.1:{port}"
        options = config.generate_options()
        if product is not None:
            options["llm_datadist_ref.product"] = product
        datadist = ld.LLMDataDist(role, next(_cluster_ids) if cluster_id is None else cluster_id)
        datadist.init(options)
        datadist._test_port = port  # type: ignore[attr-defined]
        self.created.append(datadist)
        return datadist

    def linked_pair(self, **kwargs: Any) -> tuple[ld.LLMDataDist, ld.LLMDataDist]:
        """(prompt, decoder), the decoder linked to the prompt."""
        prompt = self.make(ld.LLMRole.PROMPT, **kwargs)
        decoder = self.make(ld.LLMRole.DECODER, **kwargs)
        link(decoder, prompt)
        return prompt, decoder

    def close(self) -> None:
        for datadist in self.created:
            datadist.finalize()


def link(decoder: ld.LLMDataDist, prompt: ld.LLMDataDist) -> None:
    cluster = ld.LLMClusterInfo()
    cluster.remote_cluster_id = prompt.cluster_id
    cluster.append_remote_ip_info("127.0.0.1", prompt._test_port)  # type: ignore[attr-defined]
    status, per_cluster = decoder.link_clusters([cluster])
    assert status == ld.LLMStatusCode.LLM_SUCCESS, per_cluster


def tensor_view(cache: ld.Cache, index: int) -> np.ndarray:
    """The bytes of one tensor of a cache, as a writable uint8 array (no copy)."""
    size = cache.cache_desc.size
    buffer = (ctypes.c_uint8 * size).from_address(cache.tensor_addrs[index])
    return np.ctypeslib.as_array(buffer)


def fill(cache: ld.Cache, seed: int) -> list[np.ndarray]:
    """Fills every tensor with distinct random bytes and returns copies of them."""
    rng = np.random.default_rng(seed)
    out = []
    for index in range(cache.cache_desc.num_tensors):
        view = tensor_view(cache, index)
        view[:] = rng.integers(0, 256, size=view.size, dtype=np.uint8)
        out.append(view.copy())
    return out


def snapshot(cache: ld.Cache) -> list[np.ndarray]:
    return [tensor_view(cache, i).copy() for i in range(cache.cache_desc.num_tensors)]


def desc(
    batch: int = 2,
    width: int = 1024,
    num_tensors: int = 2,
    placement: ld.Placement = ld.Placement.DEVICE,
    dtype: ld.DataType = ld.DataType.DT_FLOAT16,
) -> ld.CacheDesc:
    return ld.CacheDesc(num_tensors, [batch, width], dtype, placement)


def assert_status(error: BaseException, status: ld.LLMStatusCode) -> None:
    assert isinstance(error, ld.LLMException), repr(error)
    assert error.status_code == status, f"{error.status_code} != {status}: {error}"
