"""The vendor's limit of one initialized LLMDataDist per process, as an opt-in mode of the reference.

The vendor package refuses a second live instance with LLMException(LLM_FAILED) ("Cannot init
multiple LLMDataDists", `hicann/hixl` `v2/llm_datadist.py`). The reference allows several unless
the init option ``llm_datadist_ref.one_engine_per_process`` is "1" or
``$LLM_DATADIST_REF_ONE_ENGINE`` is "1": then it refuses the same way, so that the conformance
suite can show it certifies a target with that limit.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["ONE_ENGINE_ENV", "ONE_ENGINE_OPTION", "one_engine_per_process"]

ONE_ENGINE_OPTION = "llm_datadist_ref.one_engine_per_process"
ONE_ENGINE_ENV = "LLM_DATADIST_REF_ONE_ENGINE"


def one_engine_per_process(options: Mapping[str, str]) -> bool:
    """Whether this init must refuse to start while another engine of the process is live."""
    return (options.get(ONE_ENGINE_OPTION) or os.environ.get(ONE_ENGINE_ENV, "")) == "1"
