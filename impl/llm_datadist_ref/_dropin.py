"""`install_as_llm_datadist()`: make `import llm_datadist` (and the vendor's submodule paths) resolve
to this reference implementation in the current process."""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping

__all__ = ["VENDOR_MODULES", "install_as_llm_datadist"]

# Vendor module path -> the public names users import from it (hicann/hixl
# src/python/llm_datadist/llm_datadist/). Packages are marked by a trailing entry in _PACKAGES.
VENDOR_MODULES: Mapping[str, tuple[str, ...]] = {
    "llm_datadist.status": ("LLMStatusCode", "LLMException", "Status"),
    "llm_datadist.configs": ("LLMClusterInfo", "LLMRole", "LlmConfig", "LLMConfig"),
    "llm_datadist.data_type": ("DataType",),
    "llm_datadist.v2": (),
    "llm_datadist.v2.llm_types": (
        "CacheDesc",
        "CacheKey",
        "CacheKeyByIdAndIndex",
        "BlocksCacheKey",
        "Placement",
        "Cache",
    ),
    "llm_datadist.v2.cache_manager": ("CacheManager",),
    "llm_datadist.v2.llm_datadist": ("LLMDataDist",),
}
_PACKAGES = frozenset({"llm_datadist", "llm_datadist.v2"})


def _module(name: str, names: tuple[str, ...], source: Mapping[str, object]) -> types.ModuleType:
    module = types.ModuleType(name, f"llm_datadist_ref standing in for the vendor's {name}")
    for attribute in names:
        setattr(module, attribute, source[attribute])
    setattr(module, "__all__", list(names))  # noqa: B010 - ModuleType declares no __all__
    module.__package__ = name if name in _PACKAGES else name.rpartition(".")[0]
    if name in _PACKAGES:
        module.__path__ = []
    return module


def install_as_llm_datadist() -> types.ModuleType:
    """Registers `llm_datadist` and its submodules (VENDOR_MODULES) in sys.modules, backed by
    llm_datadist_ref, replacing any vendor package already imported. Call it before code that does
    `import llm_datadist` / `from llm_datadist import *`. Returns the `llm_datadist` module."""
    import llm_datadist_ref as ref

    from ._cache_manager import CacheManager

    source: dict[str, object] = {name: getattr(ref, name) for name in ref.__all__}
    source["CacheManager"] = CacheManager
    top = _module("llm_datadist", tuple(ref.VENDOR_ALL), source)
    modules = {"llm_datadist": top}
    for name, names in VENDOR_MODULES.items():
        modules[name] = _module(name, names, source)
    for name in [
        key for key in sys.modules if key == "llm_datadist" or key.startswith("llm_datadist.")
    ]:
        del sys.modules[name]
    for name, module in modules.items():
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(modules[parent], child, module)
        sys.modules[name] = module
    return top
