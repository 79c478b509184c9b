"""Fresh: releasing a blocks cache leaves its BlocksCacheKey registered, so a new blocks cache
under the same key is refused as if the key were still in use."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt._cache_manager import CacheManager

__conformance_adapter__ = ADAPTER
RULE = (
    "Cache分配成功后，可通过deallocate_blocks_cache释放内存 (a released blocks cache holds nothing)"
)
CAUGHT_BY = {
    "allocate_blocks_cache.released_by_deallocate_blocks_cache",
    "deallocate_blocks_cache.releases",
}


def _keeps_blocks_key(original: Any) -> Any:
    def release_if_unreferenced(self: Any, entry: Any) -> None:
        kept = dict(self._blocks_keys)
        original(self, entry)
        if entry.cache.cache_id not in self._entries:  # released: its key stays registered
            self._blocks_keys.update(kept)

    return release_if_unreferenced


replace(CacheManager, "_release_if_unreferenced", _keeps_blocks_key)
