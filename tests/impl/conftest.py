"""Fixtures of the reference implementation's unit tests.

The helpers live in impl_support.py beside this file; pytest runs with --import-mode=importlib, which
puts no test directory on sys.path, so this conftest adds this one for `import impl_support`.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from impl_support import Engines

import llm_datadist_ref as ld


@pytest.fixture
def engines() -> Iterator[Engines]:
    made = Engines()
    yield made
    made.close()


@pytest.fixture
def cm(engines: Engines) -> ld.CacheManager:
    """A CacheManager with 4 MiB DEVICE and HOST pools (page_shift 16)."""
    return engines.make().cache_manager
