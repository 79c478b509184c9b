"""Installing never writes into the checkout: a wheel build (`pip install .`, `pip install
/read-only/checkout`, tox) uses a temporary build directory; only editable installs keep one in
build/. (Checked by hand: `pip install --target T COPY` left COPY's file list unchanged, and
`pip wheel` of a checkout bind-mounted read-only, `unshare -m sh -c 'mount --bind SRC RO && mount
-o remount,bind,ro RO && pip wheel --no-deps -w OUT RO'`, built the wheel; a build takes minutes,
too long for every CI run.)"""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+; the project's CI runs 3.11

ROOT = Path(__file__).resolve().parents[2]


def test_only_editable_installs_have_a_build_dir_in_the_checkout() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    scikit = config["tool"]["scikit-build"]
    assert "build-dir" not in scikit, (
        "pyproject.toml [tool.scikit-build]: expected no fixed build-dir (a plain `pip install .` "
        f"would write it into the checkout), observed build-dir = {scikit.get('build-dir')!r}"
    )
    overrides = [o for o in scikit.get("overrides", []) if "build-dir" in o]
    assert all(o.get("if", {}).get("state") == "editable" for o in overrides), (
        f"pyproject.toml: expected build-dir only for editable installs, observed {overrides}"
    )


def test_wheel_package_mappings_keep_their_names() -> None:
    """scikit-build-core refuses a wheel.packages entry whose two paths end in different names."""
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "scikit-build"
    ]["wheel"]["packages"]
    renamed = {k: v for k, v in packages.items() if Path(k).name != Path(v).name}
    assert not renamed, f"pyproject.toml wheel.packages: entries that rename a directory: {renamed}"
