"""The target: the implementation under test, chosen by one switch.

``--impl MODULE`` (or the environment variable ``DATADIST_CONFORMANCE_IMPL``)
names an importable module with the llm_datadist surface. Nothing else in the
suite names an implementation.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType

from .adapter import CAPABILITIES, Adapter

__all__ = [
    "ADAPTER_ENTRY_POINTS",
    "ADAPTER_ENV",
    "DEFAULT_IMPL",
    "IMPL_ENV",
    "REQUIRED_NAMES",
    "AdapterLoadError",
    "Target",
    "load_target",
]

#: Environment variables that select the target and its adapter.
IMPL_ENV = "DATADIST_CONFORMANCE_IMPL"
ADAPTER_ENV = "DATADIST_CONFORMANCE_ADAPTER"

#: The bundled reference implementation, certified when nothing else is named.
DEFAULT_IMPL = "llm_datadist_ref"

#: Names a target module must export (DESIGN.md §4).
REQUIRED_NAMES = (
    "LLMDataDist",
    "LLMRole",
    "LLMConfig",
    "CacheDesc",
    "CacheKey",
    "CacheKeyByIdAndIndex",
    "BlocksCacheKey",
    "Cache",
    "DataType",
    "Placement",
    "LLMException",
    "LLMStatusCode",
    "LLMClusterInfo",
)


@dataclass(frozen=True)
class Target:
    """An implementation under test and the adapter that reaches what its API cannot."""

    module: ModuleType
    adapter: Adapter

    @property
    def name(self) -> str:
        return self.module.__name__

    @property
    def version(self) -> str:
        version = getattr(self.module, "__version__", None)
        if isinstance(version, str):
            return version
        try:
            return metadata.version(self.module.__name__.split(".")[0])
        except metadata.PackageNotFoundError:
            return "unknown"

    def has(self, capability: str) -> bool:
        return capability in self.adapter.capabilities

    def missing_names(self) -> list[str]:
        return [name for name in REQUIRED_NAMES if not hasattr(self.module, name)]


#: Entry-point group through which a package registers the adapter for its module.
ADAPTER_ENTRY_POINTS = "datadist_conformance.adapters"


def load_target(impl: str | None = None, adapter: str | None = None) -> Target:
    """Import ``impl`` and build its adapter.

    The adapter is, in order: ``adapter`` (``module:attr``), $DATADIST_CONFORMANCE_ADAPTER,
    the module's ``__conformance_adapter__``, an entry point named after the module in
    the ``datadist_conformance.adapters`` group, or the default :class:`Adapter`.
    """
    module = importlib.import_module(impl or os.environ.get(IMPL_ENV) or DEFAULT_IMPL)
    spec = (
        adapter
        or os.environ.get(ADAPTER_ENV)
        or getattr(module, "__conformance_adapter__", None)
        or _registered_adapter(module.__name__)
    )
    try:
        adapter_class: type[Adapter] = Adapter if spec is None else _import_attr(spec)
        instance = adapter_class(module)
        unknown = set(instance.capabilities) - CAPABILITIES
        if unknown:
            raise ValueError(f"it claims unknown capabilities {sorted(unknown)}")
    except Exception as exc:
        raise AdapterLoadError(spec or "datadist_conformance.adapter:Adapter", exc) from exc
    return Target(module=module, adapter=instance)


class AdapterLoadError(ImportError):
    """The adapter could not be imported or built (the implementation itself was imported)."""

    def __init__(self, adapter: str, cause: BaseException) -> None:
        self.adapter = adapter
        super().__init__(f"{type(cause).__name__}: {cause}")


def _registered_adapter(module_name: str) -> str | None:
    for entry_point in metadata.entry_points(group=ADAPTER_ENTRY_POINTS):
        if entry_point.name == module_name:
            return str(entry_point.value)
    return None


def _import_attr(spec: str) -> type[Adapter]:
    module_name, _, attr = spec.partition(":")
    if not attr:
        raise ValueError(f"an adapter is named as module:attr, got {spec!r}")
    value = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(value, type) and issubclass(value, Adapter)):
        raise TypeError(f"{spec} is not a subclass of datadist_conformance.adapter.Adapter")
    return value
