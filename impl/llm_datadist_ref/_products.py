"""The product lines of the seed document's support table, and which one this process emulates."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ._status import LLMStatusCode, raise_status

__all__ = [
    "DEFAULT_PRODUCT",
    "PRODUCT_ENV",
    "PRODUCT_LINES",
    "PRODUCT_OPTION",
    "ProductLine",
    "resolve_product",
]

PRODUCT_OPTION = "llm_datadist_ref.product"
PRODUCT_ENV = "LLM_DATADIST_REF_PRODUCT"
DEFAULT_PRODUCT = "atlas-a3"


@dataclass(frozen=True)
class ProductLine:
    id: str
    name: str
    legacy_cache_manager: bool
    """Whether the deprecated CacheManager methods (allocate_cache ... swap_blocks) work."""


PRODUCT_LINES: Mapping[str, ProductLine] = {
    line.id: line
    for line in (
        ProductLine("atlas-a3", "Atlas A3 训练系列产品/Atlas A3 推理系列产品", True),
        ProductLine("atlas-800i-a2", "Atlas 800I A2 推理产品/A200I A2 Box 异构组件", True),
        ProductLine("atlas-a2-training", "Atlas A2 训练系列产品", False),
        ProductLine("atlas-200i-500-a2", "Atlas 200I/500 A2 推理产品", False),
        ProductLine("atlas-inference", "Atlas 推理系列产品", False),
        ProductLine("atlas-training", "Atlas 训练系列产品", False),
    )
}


def resolve_product(options: Mapping[str, str]) -> ProductLine:
    """The line named by the init option, else by the environment variable, else the default.

    An unknown id raises LLMException(LLM_PARAM_INVALID).
    """
    product_id = options.get(PRODUCT_OPTION) or os.environ.get(PRODUCT_ENV) or DEFAULT_PRODUCT
    line = PRODUCT_LINES.get(product_id)
    if line is None:
        raise_status(
            LLMStatusCode.LLM_PARAM_INVALID,
            f"unknown product line {product_id!r}; known: {', '.join(PRODUCT_LINES)}",
        )
    return line
