"""Fixtures of the cross-process tests: the processes a test starts, ended when it ends."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # --import-mode=importlib adds none

from remote_support import Peers


@pytest.fixture
def peers(tmp_path: Path) -> Iterator[Peers]:
    started = Peers(tmp_path)
    try:
        yield started
    finally:
        started.close()
