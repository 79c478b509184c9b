"""The suite's markers, registered only where the suite itself is collected."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "clause(*ids): the spec clause IDs a test checks")
    config.addinivalue_line("markers", "family(name): the test family, for reports")
