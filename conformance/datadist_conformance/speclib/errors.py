"""Spec problems, reported with the file and the key path that is wrong."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Problem", "SpecError"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one spec file."""

    file: str  #: e.g. "spec/api/CacheManager.copy_cache.yaml"
    path: str  #: slash-separated key path inside the file, "" for the whole file
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        return f"{where}: {self.message}"


class SpecError(Exception):
    """The spec is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(problem) for problem in self.problems))
