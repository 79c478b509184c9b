"""llm_datadist_ref: a CPU reference implementation of the llm_datadist CacheManager API.

Use it where the vendor package would be used:

    import llm_datadist_ref as llm_datadist          # or
    llm_datadist_ref.install_as_llm_datadist()      # then `import llm_datadist` anywhere

"Device" memory is host RAM; several LLMDataDist instances may live in one process, so a DECODER
can link to and pull from a PROMPT of the same process. The emulated product line is chosen by the
init option "llm_datadist_ref.product" or $LLM_DATADIST_REF_PRODUCT (default "atlas-a3").
"""

from __future__ import annotations

from ._cache_manager import CacheManager
from ._cluster import LLMClusterInfo
from ._config import LLMConfig, LlmConfig
from ._datadist import LLMDataDist
from ._dropin import install_as_llm_datadist
from ._status import LLMException, LLMStatusCode, Status
from ._types import (
    BlocksCacheKey,
    Cache,
    CacheDesc,
    CacheKey,
    CacheKeyByIdAndIndex,
    DataType,
    LLMRole,
    Placement,
    RegisterMemStatus,
)

__version__ = "0.1.0"

VENDOR_ALL = (
    "LLMClusterInfo",
    "LLMStatusCode",
    "LLMException",
    "LLMRole",
    "LlmConfig",
    "LLMConfig",
    "DataType",
    "Status",
    "CacheDesc",
    "CacheKey",
    "CacheKeyByIdAndIndex",
    "Cache",
    "BlocksCacheKey",
    "LLMDataDist",
    "Placement",
    "RegisterMemStatus",
)
"""The names `from llm_datadist import *` gives (the vendor's v2 surface that this reference has)."""

__all__ = [
    "BlocksCacheKey",
    "Cache",
    "CacheDesc",
    "CacheKey",
    "CacheKeyByIdAndIndex",
    "CacheManager",
    "DataType",
    "LLMClusterInfo",
    "LLMConfig",
    "LLMDataDist",
    "LLMException",
    "LLMRole",
    "LLMStatusCode",
    "LlmConfig",
    "Placement",
    "RegisterMemStatus",
    "Status",
    "install_as_llm_datadist",
]


def __dir__() -> list[str]:
    return [*__all__, "VENDOR_ALL", "testing"]
