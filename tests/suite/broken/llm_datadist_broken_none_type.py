"""Broken: swap_blocks raises TypeError for a None argument (the seed says AttributeError)."""

from typing import Any

from _breaking import ADAPTER, wrap_cache_manager

from llm_datadist_ref import *  # noqa: F403

__conformance_adapter__ = ADAPTER
VIOLATES = {"swap_blocks.raises.none"}


def _type_error_for_none(original: Any) -> Any:
    def swap_blocks(self: Any, src_cache: Any, dst_cache: Any, src_to_dst: Any) -> Any:
        if src_cache is None or dst_cache is None or src_to_dst is None:
            raise TypeError("swap_blocks: an argument is None")
        return original(self, src_cache, dst_cache, src_to_dst)

    return swap_blocks


wrap_cache_manager("swap_blocks", _type_error_for_none)
