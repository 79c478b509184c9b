"""LLMConfig.mem_pool_cfg / host_mem_pool_cfg: validated at assignment, honoured by the pools."""

from __future__ import annotations

import json

import pytest
from impl_support import Engines, pool_cfg

import llm_datadist_ref as ld
from llm_datadist_ref import testing

ATTRIBUTES = ["mem_pool_cfg", "host_mem_pool_cfg"]
PLACEMENT = {"mem_pool_cfg": ld.Placement.DEVICE, "host_mem_pool_cfg": ld.Placement.HOST}


def assign(attribute: str, value: object) -> ld.LLMConfig:
    config = ld.LLMConfig()
    setattr(config, attribute, value)
    return config


def engine_with(engines: Engines, attribute: str, cfg: str) -> ld.LLMDataDist:
    if attribute == "mem_pool_cfg":
        return engines.make(device_pool=cfg, host_pool="")
    return engines.make(device_pool="", host_pool=cfg)


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize(
    "value", [None, 1024, b'{"memory_size": 1024}', {"memory_size": 1024}, ["x"]]
)
@pytest.mark.clause("mem_pool_cfg.type.string", "host_mem_pool_cfg.type.string")
def test_value_must_be_a_str(attribute: str, value: object) -> None:
    with pytest.raises(TypeError):
        assign(attribute, value)


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize(
    "value", ["{", "memory_size=1024", "[1024]", '"1024"', "null", "  ", "1024"]
)
@pytest.mark.clause("mem_pool_cfg.json", "host_mem_pool_cfg.json")
def test_value_must_be_a_json_object(attribute: str, value: str) -> None:
    with pytest.raises(ValueError, match="JSON"):
        assign(attribute, value)


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.clause("mem_pool_cfg.json", "host_mem_pool_cfg.json")
def test_empty_string_means_no_pool(attribute: str, engines: Engines) -> None:
    config = assign(attribute, "")
    assert getattr(config, attribute) == ""
    options = config.generate_options()
    assert "llm.MemPoolConfig" not in options
    assert "llm.HostMemPoolConfig" not in options


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize("value", ["{}", '{"page_shift": 16}', '{"memory": 1024}'])
@pytest.mark.clause("mem_pool_cfg.memory_size.required", "host_mem_pool_cfg.memory_size.required")
def test_memory_size_is_required(attribute: str, value: str) -> None:
    with pytest.raises(ValueError, match="requires memory_size"):
        assign(attribute, value)


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize("size", ['"1024"', "1024.0", "1e6", "true", "null", "[1024]", "{}"])
@pytest.mark.clause("mem_pool_cfg.memory_size.int", "host_mem_pool_cfg.memory_size.int")
def test_memory_size_must_be_an_int(attribute: str, size: str) -> None:
    with pytest.raises(ValueError, match="memory_size must be an int"):
        assign(attribute, '{"memory_size": ' + size + "}")


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize("size", [0, -1, -(2**40)])
@pytest.mark.clause("mem_pool_cfg.memory_size.positive", "host_mem_pool_cfg.memory_size.positive")
def test_memory_size_must_be_positive(attribute: str, size: int) -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        assign(attribute, json.dumps({"memory_size": size}))
    assign(attribute, json.dumps({"memory_size": 1}))


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.clause("mem_pool_cfg.memory_size.bytes", "host_mem_pool_cfg.memory_size.bytes")
def test_memory_size_counts_bytes(attribute: str, engines: Engines) -> None:
    page = 4096
    datadist = engine_with(engines, attribute, pool_cfg(10 * page, 12))
    usage = testing.pool_usage(datadist, PLACEMENT[attribute])
    assert usage is not None
    assert usage.page_size * usage.capacity_pages == 10 * page
    cm = datadist.cache_manager
    one_page = ld.CacheDesc(1, [1, page], ld.DataType.DT_UINT8, PLACEMENT[attribute])
    for _ in range(10):
        cm.allocate_cache(one_page)
    with pytest.raises(ld.LLMException):
        cm.allocate_cache(one_page)


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize("shift", ['"16"', "16.0", "true", "null", "[16]"])
@pytest.mark.clause("mem_pool_cfg.page_shift.int", "host_mem_pool_cfg.page_shift.int")
def test_page_shift_must_be_an_int(attribute: str, shift: str) -> None:
    with pytest.raises(ValueError, match="page_shift must be an int"):
        assign(attribute, '{"memory_size": 1048576, "page_shift": ' + shift + "}")


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize("shift", [-1, 0, 9, 31, 32, 64])
@pytest.mark.clause("mem_pool_cfg.page_shift.range", "host_mem_pool_cfg.page_shift.range")
def test_page_shift_outside_10_31_is_rejected(attribute: str, shift: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        assign(attribute, json.dumps({"memory_size": 2**20, "page_shift": shift}))


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize("shift", [10, 20, 30])
@pytest.mark.clause("mem_pool_cfg.page_shift.range", "host_mem_pool_cfg.page_shift.range")
def test_page_shift_inside_10_31_is_accepted(attribute: str, shift: int) -> None:
    assign(attribute, json.dumps({"memory_size": 2**30, "page_shift": shift}))


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.clause("mem_pool_cfg.page_shift.default", "host_mem_pool_cfg.page_shift.default")
def test_page_size_defaults_to_64_kib(attribute: str, engines: Engines) -> None:
    datadist = engine_with(engines, attribute, json.dumps({"memory_size": 2**20}))
    usage = testing.pool_usage(datadist, PLACEMENT[attribute])
    assert usage is not None
    assert usage.page_size == 65536
    cm = datadist.cache_manager
    small = ld.CacheDesc(3, [1, 100], ld.DataType.DT_UINT8, PLACEMENT[attribute])
    cache = cm.allocate_cache(small)
    assert all(address % 65536 == 0 for address in cache.tensor_addrs)
    usage = testing.pool_usage(datadist, PLACEMENT[attribute])
    assert usage is not None
    assert usage.used_pages == 3


@pytest.mark.parametrize("attribute", ATTRIBUTES)
@pytest.mark.parametrize("shift", [10, 12, 17])
@pytest.mark.clause("mem_pool_cfg.page_alignment", "host_mem_pool_cfg.page_alignment")
def test_allocations_are_page_aligned_and_rounded(
    attribute: str, shift: int, engines: Engines
) -> None:
    page = 1 << shift
    datadist = engine_with(engines, attribute, pool_cfg(64 * page, shift))
    cm = datadist.cache_manager
    placement = PLACEMENT[attribute]
    caches = [
        cm.allocate_cache(ld.CacheDesc(2, [1, size], ld.DataType.DT_UINT8, placement))
        for size in (1, page - 1, page, page + 1, 3 * page)
    ]
    for cache in caches:
        assert all(address % page == 0 for address in cache.tensor_addrs)
    usage = testing.pool_usage(datadist, placement)
    assert usage is not None
    assert usage.used_pages == 2 * (1 + 1 + 1 + 2 + 3)


@pytest.mark.clause("host_mem_pool_cfg.max_20g")
@pytest.mark.parametrize("size", [20 * 2**30 + 1, 21 * 2**30, 2**40])
def test_host_pool_above_20_gib_is_rejected(size: int) -> None:
    with pytest.raises(ValueError, match="20 GiB"):
        assign("host_mem_pool_cfg", json.dumps({"memory_size": size}))


@pytest.mark.clause("host_mem_pool_cfg.max_20g")
@pytest.mark.parametrize("size", [20 * 10**9, 20 * 2**30])
def test_host_pool_up_to_20g_is_accepted(size: int) -> None:
    assign("host_mem_pool_cfg", json.dumps({"memory_size": size}))
    assign("mem_pool_cfg", json.dumps({"memory_size": 64 * 2**30}))  # the device pool has no cap


def test_init_rejects_a_bad_pool_option_given_directly(engines: Engines) -> None:
    for options in (
        {"llm.EnableCacheManager": "1", "llm.MemPoolConfig": "{"},
        {
            "llm.EnableCacheManager": "1",
            "llm.HostMemPoolConfig": json.dumps({"memory_size": 2**40}),
        },
        {
            "llm.EnableCacheManager": "1",
            "llm.MemPoolConfig": '{"memory_size": 1, "page_shift": 40}',
        },
    ):
        with pytest.raises(ld.LLMException) as info:
            ld.LLMDataDist(ld.LLMRole.PROMPT, 1).init(options)
        assert info.value.status_code == ld.LLMStatusCode.LLM_PARAM_INVALID


def test_valid_assignment_is_kept_and_emitted() -> None:
    config = ld.LLMConfig(mem_pool_cfg='{"memory_size": 1024, "page_shift": 10}')
    config.host_mem_pool_cfg = '{"memory_size": 2048}'
    options = config.generate_options()
    assert options["llm.MemPoolConfig"] == '{"memory_size": 1024, "page_shift": 10}'
    assert options["llm.HostMemPoolConfig"] == '{"memory_size": 2048}'
