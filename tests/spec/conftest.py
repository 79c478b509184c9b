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

SEED_NAME = Path("shared") / "seed" / "cachemanager-deprecated.md"
#: Set in CI (.ci/run): a missing seed document fails the spec tests instead of skipping them.
REQUIRE_SEED_ENV = "DATADIST_REQUIRE_SEED"


def _find_seed() -> Path:
    """$DATADIST_SEED_DOC, else shared/seed/ beside the checkout or beside a folder above it."""
    if os.environ.get("DATADIST_SEED_DOC"):
        return Path(os.environ["DATADIST_SEED_DOC"])
    checkout = Path(__file__).resolve().parents[2]
    for folder in checkout.parents:
        if (folder / SEED_NAME).is_file():
            return folder / SEED_NAME
    return checkout.parent / SEED_NAME


SEED_PATH = _find_seed()


def unescape_markdown(text: str) -> str:
    r"""The seed as rendered: ``cache\_id`` -> ``cache_id``, ``size\>1`` -> ``size>1``."""
    return re.sub(r"\\([_>*<\[\]])", r"\1", text)


@pytest.fixture(scope="session")
def seed_text() -> str:
    if not SEED_PATH.is_file():
        message = f"seed document not found at {SEED_PATH} (set DATADIST_SEED_DOC)"
        if os.environ.get(REQUIRE_SEED_ENV) or os.environ.get("CI"):
            pytest.fail(message + f"; ${REQUIRE_SEED_ENV} or $CI is set, so it is required")
        pytest.skip(message)
    return unescape_markdown(SEED_PATH.read_text("utf-8"))


def seed_sections(seed_text: str) -> dict[str, str]:
    """``"<## heading> / <### heading>"`` -> that section's text (the spec's source.section)."""
    sections: dict[str, str] = {}
    for part in re.split(r"\n(?=## )", seed_text):
        title, _, body = part.partition("\n")
        chapter = title.removeprefix("## ").strip()
        for sub in re.split(r"\n(?=### )", "\n" + body)[1:]:
            name, _, text = sub.strip("\n").partition("\n")
            sections[f"{chapter} / {name.removeprefix('### ').strip()}"] = text
    return sections


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
