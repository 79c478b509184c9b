"""constraints/tools.txt pins everything tox installs, so `tox run` next month installs today's
tools and gives today's verdict: a new requirement in pyproject.toml or tox.ini that the file
does not pin, or an env whose pip does not read the file, fails here instead of drifting."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the project's CI runs 3.11

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints" / "tools.txt"
PIP_CONSTRAINT = "PIP_CONSTRAINT = {[_tools]constraints}"


def pins(text: str) -> dict[str, list[Requirement]]:
    """The pinned requirements of a constraints file, by canonical name."""
    pinned: dict[str, list[Requirement]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            pinned.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return pinned


def tox_ini() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini", encoding="utf-8")
    return config


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def installed_by_tox() -> list[Requirement]:
    """Every requirement tox installs, directly: build requires, the package's dependencies and
    the extras tox asks for, every dependency group, every env's deps, tox itself (.ci/run)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tox = tox_ini()
    texts = [*project["build-system"]["requires"], *project["project"]["dependencies"], "tox"]
    envs = [tox[name] for name in tox.sections() if name.startswith("testenv")]
    for env in envs:
        for extra in _lines(env.get("extras", "")):
            texts += project["project"]["optional-dependencies"][extra]
        texts += _lines(env.get("deps", ""))
    for group in project["dependency-groups"].values():
        texts += [entry for entry in group if isinstance(entry, str)]  # not {include-group}
    texts += _lines(tox["tox"].get("requires", ""))
    return [Requirement(text) for text in sorted(set(texts))]


def unpinned(required: list[Requirement], pinned: dict[str, list[Requirement]]) -> list[str]:
    """Requirements with no exact pin, or with a pin outside the range the project asks for."""
    problems = []
    for requirement in required:
        name = canonicalize_name(requirement.name)
        versions = [
            spec.version
            for pin in pinned.get(name, [])
            for spec in pin.specifier
            if spec.operator == "=="
        ]
        if not versions:
            problems.append(f"{requirement}: no == pin")
        problems += [
            f"{requirement}: pinned {v}, outside {requirement.specifier}"
            for v in versions
            if not requirement.specifier.contains(v, prereleases=True)
        ]
    return problems


def test_every_requirement_tox_installs_is_pinned() -> None:
    problems = unpinned(installed_by_tox(), pins(CONSTRAINTS.read_text(encoding="utf-8")))
    assert not problems, (
        f"{CONSTRAINTS.relative_to(ROOT)}: expected an exact pin within range for everything tox "
        f"installs, observed {problems}"
    )


def test_every_pin_is_exact() -> None:
    loose = [
        str(pin)
        for group in pins(CONSTRAINTS.read_text(encoding="utf-8")).values()
        for pin in group
        if [spec.operator for spec in pin.specifier] != ["=="] or "*" in str(pin.specifier)
    ]
    assert not loose, (
        f"{CONSTRAINTS.relative_to(ROOT)}: expected only `name==version` lines, observed {loose}"
    )


def test_the_check_names_a_tool_the_file_leaves_out() -> None:
    """Meta-test: the check above reports a tool with no pin, and one pinned out of range."""
    text = CONSTRAINTS.read_text(encoding="utf-8")
    without_ruff = re.sub(r"(?m)^ruff==.*\n", "", text)
    problems = unpinned(installed_by_tox(), pins(without_ruff))
    assert problems == ["ruff>=0.6: no == pin"], (
        f"unpinned(): expected ruff reported once as unpinned, observed {problems}"
    )
    too_old = re.sub(r"(?m)^pytest==.*$", "pytest==7.4.0", text)
    problems = unpinned(installed_by_tox(), pins(too_old))
    assert problems, "unpinned(): expected pytest==7.4.0 reported outside >=8, observed nothing"
    assert all("pinned 7.4.0, outside >=8" in p for p in problems), (
        f"unpinned(): expected pytest==7.4.0 reported outside >=8, observed {problems}"
    )


def test_every_env_installs_through_the_constraints() -> None:
    """Each env's pip reads the file: an env that sets set_env must carry PIP_CONSTRAINT, directly
    or through {[testenv]set_env}; one that sets none inherits [testenv]'s."""
    tox = tox_ini()
    assert PIP_CONSTRAINT in tox["testenv"]["set_env"], (
        f"tox.ini [testenv] set_env: expected {PIP_CONSTRAINT!r}, observed {tox['testenv']['set_env']!r}"
    )
    missing = [
        name
        for name in tox.sections()
        if name.startswith("testenv:")
        and "set_env" in tox[name]
        and not {PIP_CONSTRAINT, "{[testenv]set_env}"} & set(_lines(tox[name]["set_env"]))
    ]
    assert not missing, f"tox.ini: envs whose set_env drops PIP_CONSTRAINT: {missing}"
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "pip install -c constraints/tools.txt tox" in run, (
        ".ci/run: expected tox installed with -c constraints/tools.txt, observed an unconstrained install"
    )
