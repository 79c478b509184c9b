"""Product-line emulation: the legacy CacheManager works only where the support table says so."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from impl_support import Engines, assert_status, desc

import llm_datadist_ref as ld
from llm_datadist_ref import testing

S = ld.LLMStatusCode
SUPPORTED = ["atlas-a3", "atlas-800i-a2"]
UNSUPPORTED = ["atlas-a2-training", "atlas-200i-500-a2", "atlas-inference", "atlas-training"]

LEGACY_CALLS: dict[str, Callable[[ld.CacheManager, ld.Cache, ld.Cache], object]] = {
    "allocate_cache": lambda cm, c, b: cm.allocate_cache(desc()),
    "deallocate_cache": lambda cm, c, b: cm.deallocate_cache(c),
    "remove_cache_key": lambda cm, c, b: cm.remove_cache_key(ld.CacheKey(1, 1)),
    "copy_cache": lambda cm, c, b: cm.copy_cache(c, c),
    "allocate_blocks_cache": lambda cm, c, b: cm.allocate_blocks_cache(desc()),
    "deallocate_blocks_cache": lambda cm, c, b: cm.deallocate_blocks_cache(b),
    "copy_blocks": lambda cm, c, b: cm.copy_blocks(b, {0: [1]}),
    "swap_blocks": lambda cm, c, b: cm.swap_blocks(b, b, {0: 0}),
}


@pytest.mark.clause(
    "products.unsupported_fails_cleanly", "products.unsupported_fails_cleanly.cache_operations"
)
@pytest.mark.parametrize("product", UNSUPPORTED)
@pytest.mark.parametrize("api", list(LEGACY_CALLS))
def test_legacy_methods_fail_with_feature_not_enabled(
    engines: Engines, product: str, api: str
) -> None:
    datadist = engines.make(product=product)
    assert testing.product_of(datadist) == product
    cm = datadist.cache_manager  # init and the property work
    cache = ld.Cache(1, desc(), [], cm, False, False)
    blocks = ld.Cache(2, desc(), [], cm, False, True)
    with pytest.raises(ld.LLMException) as info:
        LEGACY_CALLS[api](cm, cache, blocks)
    assert_status(info.value, S.LLM_FEATURE_NOT_ENABLED)
    assert api in str(info.value)
    assert product in str(info.value)


@pytest.mark.clause("products.unsupported_fails_cleanly")
@pytest.mark.parametrize("product", UNSUPPORTED)
def test_unsupported_line_rejects_before_looking_at_arguments(
    engines: Engines, product: str
) -> None:
    cm = engines.make(product=product).cache_manager
    with pytest.raises(ld.LLMException) as info:
        cm.allocate_cache(None)  # type: ignore[arg-type]
    assert_status(info.value, S.LLM_FEATURE_NOT_ENABLED)


@pytest.mark.parametrize("product", SUPPORTED)
def test_supported_lines_allocate(engines: Engines, product: str) -> None:
    datadist = engines.make(product=product)
    assert testing.product_of(datadist) == product
    datadist.cache_manager.allocate_cache(desc())


def test_default_product_is_atlas_a3(engines: Engines, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLM_DATADIST_REF_PRODUCT", raising=False)
    assert testing.product_of(engines.make()) == "atlas-a3"


def test_environment_selects_and_option_wins(
    engines: Engines, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_DATADIST_REF_PRODUCT", "atlas-training")
    assert testing.product_of(engines.make()) == "atlas-training"
    assert testing.product_of(engines.make(product="atlas-800i-a2")) == "atlas-800i-a2"


def test_unknown_product_fails_at_init(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ld.LLMException) as info:
        ld.LLMDataDist(ld.LLMRole.PROMPT, 1).init(
            {"llm.EnableCacheManager": "1", "llm_datadist_ref.product": "x"}
        )
    assert_status(info.value, S.LLM_PARAM_INVALID)
    monkeypatch.setenv("LLM_DATADIST_REF_PRODUCT", "atlas-9000")
    with pytest.raises(ld.LLMException):
        ld.LLMDataDist(ld.LLMRole.PROMPT, 1).init({"llm.EnableCacheManager": "1"})


def test_every_product_line_is_known() -> None:
    assert set(testing.PRODUCT_LINES) == set(SUPPORTED) | set(UNSUPPORTED)
    assert {p for p, line in testing.PRODUCT_LINES.items() if line.legacy_cache_manager} == set(
        SUPPORTED
    )
