"""The public surface: names, vendor signatures and defaults, option keys, status codes, drop-in."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap

import pytest
from impl_support import Engines, desc

import llm_datadist_ref as ld

S = ld.LLMStatusCode

TARGET_CONTRACT = [
    "LLMDataDist", "LLMRole", "LLMConfig", "CacheDesc", "CacheKey", "CacheKeyByIdAndIndex",
    "BlocksCacheKey", "Cache", "DataType", "Placement", "LLMException", "LLMStatusCode", "LLMClusterInfo",
]  # fmt: skip


def test_exports_the_target_contract() -> None:
    for name in TARGET_CONTRACT:
        assert name in ld.__all__
        assert hasattr(ld, name)
    assert ld.LlmConfig is ld.LLMConfig
    assert issubclass(ld.LLMException, RuntimeError)


SIGNATURES = [
    (ld.CacheManager.allocate_cache, "(self, cache_desc, cache_keys=())", "allocate_cache"),
    (ld.CacheManager.deallocate_cache, "(self, cache)", "deallocate_cache"),
    (ld.CacheManager.remove_cache_key, "(self, cache_key)", "remove_cache_key"),
    (
        ld.CacheManager.copy_cache,
        "(self, dst, src, dst_batch_index=0, src_batch_index=0, offset=0, size=-1, req_id=None)",
        "copy_cache",
    ),
    (
        ld.CacheManager.allocate_blocks_cache,
        "(self, cache_desc, blocks_cache_key=None)",
        "allocate_blocks_cache",
    ),
    (ld.CacheManager.deallocate_blocks_cache, "(self, cache)", "deallocate_blocks_cache"),
    (ld.CacheManager.copy_blocks, "(self, cache, copy_block_info)", "copy_blocks"),
    (ld.CacheManager.swap_blocks, "(self, src_cache, dst_cache, src_to_dst)", "swap_blocks"),
    (
        ld.CacheManager.pull_cache,
        "(self, cache_key, cache, batch_index=0, size=-1, **kwargs)",
        "pull_cache",
    ),
    (
        ld.CacheManager.pull_blocks,
        "(self, src_cache_key, dst_cache, src_blocks=(), dst_blocks=(), **kwargs)",
        "pull_blocks",
    ),
    (
        ld.CacheManager.push_cache,
        "(self, dst_cache_key, src_cache, src_batch_index=0, src_layer_range=None, "
        "dst_layer_range=None, size=-1, tensor_num_per_layer=2)",
        "push_cache",
    ),
    (ld.LLMDataDist.__init__, "(self, role, cluster_id)", None),
    (ld.LLMDataDist.init, "(self, options)", "init"),
    (ld.LLMDataDist.finalize, "(self)", "finalize"),
    (ld.LLMDataDist.link_clusters, "(self, clusters, timeout=3000)", "link_clusters"),
    (
        ld.LLMDataDist.unlink_clusters,
        "(self, clusters, timeout=3000, force=False)",
        "unlink_clusters",
    ),
    (ld.LLMConfig.generate_options, "(self)", "generate_options"),
    (ld.LLMClusterInfo.append_local_ip_info, "(self, ip, port)", "append_local_ip_info"),
    (ld.LLMClusterInfo.append_remote_ip_info, "(self, ip, port)", "append_remote_ip_info"),
    (
        ld.CacheDesc.__init__,
        "(self, num_tensors, shape, data_type, placement=<Placement.DEVICE: 1>, batch_dim_index=0, "
        "seq_len_dim_index=-1, kv_tensor_format=None)",
        None,
    ),
    (ld.CacheKeyByIdAndIndex.__init__, "(self, cluster_id, cache_id, batch_index=0)", None),
    (ld.Cache.create_cpu_cache, "(cache_desc, addrs)", "create_cpu_cache"),
]


@pytest.mark.parametrize(
    ("function", "expected"),
    [
        pytest.param(
            function,
            expected,
            marks=[pytest.mark.clause(f"{api}.signature")] if api else [],
            id=function.__qualname__,
        )
        for function, expected, api in SIGNATURES
    ],
)
def test_vendor_signatures(function: object, expected: str) -> None:
    signature = inspect.signature(function)  # type: ignore[arg-type]
    plain = signature.replace(
        parameters=[
            p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()
        ],
        return_annotation=inspect.Signature.empty,
    )
    assert str(plain) == expected


def test_status_codes_have_the_vendor_values() -> None:
    assert S.LLM_SUCCESS == 0
    assert S.LLM_FAILED == 0xFFFFFFFF
    assert S.LLM_PARAM_INVALID == 1343270917
    assert S.LLM_KV_CACHE_NOT_EXIST == 0x5010B002
    assert S.LLM_NOT_YET_LINK == 0x5010B007
    assert S.LLM_FEATURE_NOT_ENABLED == 0x5010B019
    assert S.LLM_TIMEOUT == 0x5010B01A
    assert S.LLM_OUT_OF_MEMORY == 0x5010B01C
    assert S.LLM_DEVICE_MEM_ERROR == 507053
    assert S.LLM_UNKNOWN_ERROR == -1
    assert len(S) == 29
    assert str(S.LLM_TIMEOUT) == "LLMStatusCode.LLM_TIMEOUT"
    error = ld.LLMException("x", status_code=S.LLM_TIMEOUT)
    assert error.status_code == S.LLM_TIMEOUT
    assert ld.LLMException("y").status_code == S.LLM_SUCCESS


def test_enums() -> None:
    assert (ld.LLMRole.PROMPT, ld.LLMRole.DECODER, ld.LLMRole.MIX) == (1, 2, 3)
    assert (ld.Placement.HOST, ld.Placement.DEVICE) == (0, 1)
    assert ld.DataType.DT_FLOAT16.value == 1
    assert ld.DataType.DT_BF16.value == 27
    assert ld.CacheDesc(1, [2, 3], ld.DataType.DT_STRING).size == 96


@pytest.mark.clause(
    "cache_manager.signature", "mem_pool_cfg.signature", "host_mem_pool_cfg.signature"
)
def test_properties_and_settable_options() -> None:
    assert isinstance(ld.LLMDataDist.cache_manager, property)
    for name in ("mem_pool_cfg", "host_mem_pool_cfg"):
        attribute = getattr(ld.LLMConfig, name)
        assert isinstance(attribute, property)
        assert attribute.fset is not None


@pytest.mark.clause("generate_options.returns.dict")
def test_generate_options_uses_the_vendor_keys() -> None:
    config = ld.LLMConfig(
        device_id=0,
        enable_cache_manager=True,
        sync_kv_timeout=250,
        mem_pool_cfg='{"memory_size": 1024}',
        host_mem_pool_cfg='{"memory_size": 2048}',
        listen_ip_info="127.0.0.1:26000",
        enable_remote_cache_accessible=False,
    )
    options = config.generate_options()
    assert options == {
        "ge.exec.deviceId": "0",
        "ge.session_device_id": "0",
        "llm.SyncKvCacheWaitTime": "250",
        "llm.MemPoolConfig": '{"memory_size": 1024}',
        "llm.HostMemPoolConfig": '{"memory_size": 2048}',
        "llm.EnableCacheManager": "1",
        "llm.EnableRemoteCacheAccessible": "0",
        "llm.listenIpInfo": "127.0.0.1:26000",
        "llm.MemoryUtilization": "0.95",
    }
    with pytest.raises(TypeError):
        ld.LLMConfig(no_such_option=1)
    with pytest.raises(ld.LLMException):
        ld.LLMConfig(device_id=-1)
    with pytest.raises(ld.LLMException):
        ld.LLMConfig(sync_kv_timeout=0)


def test_a_misspelt_config_attribute_is_refused() -> None:
    """`cfg.mem_pool_cfgg = ...` must not leave the pool quietly unconfigured."""
    config = ld.LLMConfig()
    config.mem_pool_cfg = '{"memory_size": 4096}'  # the vendor's attribute style works
    with pytest.raises(AttributeError) as info:
        config.mem_pool_cfgg = '{"memory_size": 4096}'
    message = str(info.value)
    assert "mem_pool_cfgg" in message, message
    assert "mem_pool_cfg," in message, message  # the known attributes are listed
    assert config.generate_options()["llm.MemPoolConfig"] == '{"memory_size": 4096}'
    assert not hasattr(config, "mem_pool_cfgg")


def test_lifecycle(engines: Engines) -> None:
    datadist = ld.LLMDataDist(ld.LLMRole.PROMPT, 5)
    with pytest.raises(RuntimeError):
        datadist.cache_manager  # noqa: B018
    datadist.init({})
    with pytest.raises(ld.LLMException) as info:
        datadist.cache_manager  # noqa: B018 - not in CacheManager mode
    assert info.value.status_code == S.LLM_PARAM_INVALID
    datadist.finalize()
    datadist.finalize()
    live = engines.make()
    cm = live.cache_manager
    cache = cm.allocate_cache(desc())
    live.init({"ignored": "1"})  # a second init does nothing
    assert cm.allocate_cache(desc()) is not None
    live.finalize()
    with pytest.raises(RuntimeError):
        live.cache_manager  # noqa: B018
    for call in (
        lambda: cm.allocate_cache(desc()),
        lambda: cm.deallocate_cache(cache),
        lambda: cm.pull_cache(ld.CacheKey(1, 1), cache),
    ):
        with pytest.raises(ld.LLMException) as info:
            call()
        assert info.value.status_code == S.LLM_ENGINE_FINALIZED
    with pytest.raises(TypeError):
        ld.LLMDataDist(1, 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="uint64"):
        ld.LLMDataDist(ld.LLMRole.PROMPT, -1)
    with pytest.raises(TypeError):
        ld.LLMDataDist(ld.LLMRole.PROMPT, 1).init({"a": 1})  # type: ignore[dict-item]


def test_key_constructors() -> None:
    key = ld.CacheKey(prompt_cluster_id=1, req_id=2, model_id=3)
    assert (key.cluster_id, key.req_id, key.model_id, key.prefix_id) == (1, 2, 3, 2**64 - 1)
    with pytest.raises(ld.LLMException):
        ld.CacheKey(1)  # no req_id
    with pytest.raises(ld.LLMException):
        ld.CacheKey(1, 2, 3, 4, 5)
    with pytest.raises(ld.LLMException):
        ld.CacheKey(1, 2, colour=3)
    with pytest.raises(ValueError, match="uint64"):
        ld.CacheKey(1, -2)
    with pytest.raises(TypeError):
        ld.CacheKey(1, "2")
    assert ld.BlocksCacheKey(cluster_id=4).model_id == 0
    with pytest.raises(TypeError):
        ld.BlocksCacheKey("4")
    with pytest.raises(ValueError, match="uint32"):
        ld.CacheKeyByIdAndIndex(1, 1, -1)


def test_cache_desc_checks() -> None:
    with pytest.raises(TypeError):
        ld.CacheDesc(1, "2,3", ld.DataType.DT_INT8)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        ld.CacheDesc(1, [2], 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="uint32"):
        ld.CacheDesc(-1, [2], ld.DataType.DT_INT8)
    with pytest.raises(ValueError, match="batch_dim_index"):
        ld.CacheDesc(1, [2], ld.DataType.DT_INT8, batch_dim_index=1)
    cache_desc = ld.CacheDesc(1, [2, 3], ld.DataType.DT_INT32)
    cache_desc.update_dim(0, 4)
    assert (cache_desc.batch_size, cache_desc.size) == (4, 48)


DROP_IN = textwrap.dedent(
    """
    import llm_datadist_ref
    module = llm_datadist_ref.install_as_llm_datadist()
    import llm_datadist
    from llm_datadist import *
    from llm_datadist.v2.llm_types import CacheDesc as C2, Placement as P2
    from llm_datadist.v2.cache_manager import CacheManager
    from llm_datadist.v2.llm_datadist import LLMDataDist as D2
    from llm_datadist.configs import LLMRole as R2, LlmConfig as L2
    from llm_datadist.status import LLMStatusCode as S2, LLMException as E2
    from llm_datadist.data_type import DataType as T2
    import llm_datadist.v2.llm_types
    assert llm_datadist is module
    assert LLMDataDist is D2 is llm_datadist_ref.LLMDataDist
    assert CacheDesc is C2 and Placement is P2 and LLMRole is R2 and LLMConfig is L2 is LlmConfig
    assert LLMStatusCode is S2 and LLMException is E2 and DataType is T2
    assert CacheManager is llm_datadist_ref.CacheManager
    assert llm_datadist.v2.llm_types.Cache is Cache
    assert "install_as_llm_datadist" not in dir()
    print("ok")
    """
)


def test_install_as_llm_datadist_in_a_fresh_process() -> None:
    result = subprocess.run(
        [sys.executable, "-c", DROP_IN], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_import_as_alias() -> None:
    llm_datadist = importlib.import_module("llm_datadist_ref")
    assert llm_datadist.CacheKey is ld.CacheKey
