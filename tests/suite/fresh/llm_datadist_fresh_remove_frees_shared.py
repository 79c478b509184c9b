"""Fresh: once deallocate_cache has run, removing ANY one key frees the cache's memory, though
other keys of the cache are still bound (a use-after-free for the remaining keys)."""

from typing import Any

from _fresh import ADAPTER, replace
from llm_datadist_alt import *  # noqa: F403
from llm_datadist_alt import CacheManager

__conformance_adapter__ = ADAPTER
RULE = "只有当这些引用都解除后，cache所占用的资源才会实际释放。"
CAUGHT_BY = {
    "allocate_cache.refs.held_by_id_and_keys",
    "deallocate_cache.deferred_until_keys_released",
}


def _early(original: Any) -> Any:
    def _unbind(self: Any, key: Any) -> None:
        where = self._keys.get(key)
        entry = self._entries.get(where[0]) if where is not None else None
        original(self, key)
        if (
            entry is not None
            and not entry.id_held
            and entry.keys
            and not getattr(entry, "freed", False)
        ):
            entry.freed = True
            entry.pool.release(entry.offset, entry.nbytes)  # the other keys still point here

    return _unbind


def _no_double_release(original: Any) -> Any:
    def _release_if_unreferenced(self: Any, entry: Any) -> None:
        if getattr(entry, "freed", False) and not entry.id_held and not entry.keys:
            del self._entries[entry.cache.cache_id]
            return
        original(self, entry)

    return _release_if_unreferenced


replace(CacheManager, "_unbind", _early)
replace(CacheManager, "_release_if_unreferenced", _no_double_release)
