"""The target-names part of a scenario: the target's enum members and objects, built through
the transcript so that the replay builds them the same way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from .caches import Layout
from .peer.client import Recipes

if TYPE_CHECKING:
    from .transcript import Transcript

__all__ = ["TargetNames"]


class TargetNames:
    """Builds the target's enum members, CacheDescs, CacheKeys and other objects, recorded.

    In peer mode ``process`` it also remembers how each object was built (``recipes``), so
    that the object can be sent to the helper process.
    """

    def __init__(
        self,
        t: Transcript,
        module: ModuleType,
        itemsize: Callable[[str], int],
        *,
        cross_process: bool,
    ) -> None:
        self.t = t
        self.m = module
        self.itemsize = itemsize
        self.cross_process = cross_process
        self.recipes = Recipes()  #: how target objects were built, to send them to the helper

    def enum(self, enum_name: str, member: str) -> Any:
        value = getattr(getattr(self.m, enum_name), member)
        self.t.bind(value, f"m.{enum_name}.{member}")
        return value

    def new(self, class_name: str, *args: Any, **kwargs: Any) -> Any:
        """``m.<class_name>(*args, **kwargs)``, recorded."""
        value = self.t.invoke(f"m.{class_name}", getattr(self.m, class_name), args, kwargs)
        if self.cross_process:
            self.recipes.remember(value, class_name, args, kwargs)
        return value

    def layout(self, num_tensors: int, shape: Sequence[int], dtype: str = "DT_UINT8") -> Layout:
        return Layout(num_tensors, tuple(shape), self.itemsize(dtype))

    def desc(self, layout: Layout, dtype: str = "DT_UINT8", placement: str = "DEVICE") -> Any:
        return self.new(
            "CacheDesc",
            layout.num_tensors,
            list(layout.shape),
            self.enum("DataType", dtype),
            self.enum("Placement", placement),
        )

    def key(self, cluster_id: int, req_id: int, model_id: int = 0) -> Any:
        """A CacheKey as the seed builds one; model_id (vendor surface) only when it is not 0."""
        if model_id == 0:
            return self.new("CacheKey", cluster_id, req_id)
        return self.new("CacheKey", cluster_id, req_id, model_id)
