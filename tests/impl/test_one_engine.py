"""One-engine mode: like the vendor, a second initialized LLMDataDist in the process is refused."""

from __future__ import annotations

import pytest

import llm_datadist_ref as ld
from llm_datadist_ref._one_engine import ONE_ENGINE_ENV, ONE_ENGINE_OPTION


def _options(**extra: str) -> dict[str, str]:
    config = ld.LLMConfig()
    config.device_id = 0
    config.enable_cache_manager = True
    config.mem_pool_cfg = '{"memory_size": 1048576, "page_shift": 12}'
    return {**config.generate_options(), "llm_datadist_ref.transport": "in-process", **extra}


@pytest.mark.parametrize("switch", ["option", "environment"])
def test_a_second_engine_is_refused_until_the_first_is_finalized(
    switch: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {ONE_ENGINE_OPTION: "1"} if switch == "option" else {}
    if switch == "environment":
        monkeypatch.setenv(ONE_ENGINE_ENV, "1")
    first = ld.LLMDataDist(ld.LLMRole.PROMPT, 1)
    second = ld.LLMDataDist(ld.LLMRole.DECODER, 2)
    first.init(_options(**extra))
    try:
        with pytest.raises(ld.LLMException) as refused:
            second.init(_options(**extra))
        assert refused.value.status_code == ld.LLMStatusCode.LLM_FAILED
        with pytest.raises(RuntimeError, match="not initialized"):
            second.cache_manager  # noqa: B018 - the refused init changed nothing
        first.init(_options(**extra))  # the first one's second init still does nothing
    finally:
        first.finalize()
    second.init(_options(**extra))  # free again once the first is finalized
    second.finalize()


def test_several_engines_by_default() -> None:
    engines = [ld.LLMDataDist(ld.LLMRole.PROMPT, n) for n in (1, 2)]
    for engine in engines:
        engine.init(_options())
    for engine in engines:
        engine.finalize()
