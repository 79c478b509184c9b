"""Fixtures for the spec tests: the seed document and a writable copy of the spec."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from datadist_conformance.speclib import spec_root

#: ../shared/seed beside the checkout (where CI puts it), or $DATADIST_SEED_DOC.
SEED_PATH = Path(
    os.environ.get(
        "DATADIST_SEED_DOC",
        Path(__file__).resolve().parents[3] / "shared" / "seed" / "cachemanager-deprecated.md",
    )
)


def unescape_markdown(text: str) -> str:
    r"""The seed as rendered: ``cache\_id`` -> ``cache_id``, ``size\>1`` -> ``size>1``."""
    return re.sub(r"\\([_>*<\[\]])", r"\1", text)


@pytest.fixture(scope="session")
def seed_text() -> str:
    if not SEED_PATH.is_file():
        pytest.skip(f"seed document not found at {SEED_PATH} (set DATADIST_SEED_DOC)")
    return unescape_markdown(SEED_PATH.read_text("utf-8"))


EditYaml = Callable[[str, Callable[[Any], None]], Path]


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    """A private copy of the installed spec that a test may break."""
    target = tmp_path / "spec"
    shutil.copytree(spec_root(), target)
    return target


@pytest.fixture
def edit_yaml(spec_copy: Path) -> EditYaml:
    """edit_yaml("api/X.yaml", mutate) loads the file, lets `mutate` change it, writes it back."""

    def edit(relative: str, mutate: Callable[[Any], None]) -> Path:
        path = spec_copy / relative
        doc = yaml.safe_load(path.read_text("utf-8"))
        mutate(doc)
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
        return spec_copy

    return edit
