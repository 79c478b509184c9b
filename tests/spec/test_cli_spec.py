"""`datadist-conformance spec validate|dump`, run as a user would, from outside the checkout."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

import datadist_conformance
from datadist_conformance.speclib import load_spec, spec_root

CLI = [sys.executable, "-m", "datadist_conformance"]


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_installed_package_ships_its_spec() -> None:
    package_dir = Path(datadist_conformance.__file__).parent
    assert spec_root() == package_dir / "spec", "run the tests against the installed package (tox)"
    assert (package_dir / "spec" / "api" / "CacheManager.allocate_cache.yaml").is_file()
    assert (package_dir / "spec" / "schema" / "api.schema.json").is_file()


def test_validate_works_from_any_directory(tmp_path: Path) -> None:
    result = run_cli("spec", "validate", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("spec OK: ")
    assert str(spec_root()) in result.stdout


def test_validate_exits_1_naming_file_and_key(tmp_path: Path, spec_copy: Path) -> None:
    path = spec_copy / "api" / "CacheManager.swap_blocks.yaml"
    doc = yaml.safe_load(path.read_text("utf-8"))
    doc["clauses"][2]["kind"] = "teleports_bytes"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), "utf-8")
    result = run_cli("spec", "validate", "--spec-dir", str(spec_copy), cwd=tmp_path)
    assert result.returncode == 1
    assert (
        "spec/api/CacheManager.swap_blocks.yaml: clauses/2/kind: unknown clause kind 'teleports_bytes'"
        in result.stderr
    )


def test_dump_is_the_documented_json(tmp_path: Path) -> None:
    result = run_cli("spec", "dump", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    schema = json.loads(
        (resources.files("datadist_conformance") / "schemas" / "spec-dump.schema.json").read_text(
            "utf-8"
        )
    )
    jsonschema.Draft202012Validator(schema).validate(data)
    apis = {api["id"]: api for api in data["apis"]}
    allocate = apis["CacheManager.allocate_cache"]
    assert allocate["owner"] == "CacheManager"
    assert allocate["status"] == "deprecated"
    assert allocate["params"][1] == {
        "name": "cache_keys",
        "type": "Union[Tuple[CacheKey], List[CacheKey]]",
        "default": "()",
        "required": False,
    }
    assert allocate["products"]["atlas-a3"] is True
    assert allocate["products"]["atlas-training"] is False
    assert "LLMConfig.mem_pool_cfg" in apis
    clause = next(c for c in allocate["clauses"] if c["id"] == "allocate_cache.keys.placeholder")
    assert clause["kind"] == "placeholder_key"
    assert "UINT64_MAX" in clause["text_zh"]
    assert data["constants"]["UINT64_MAX"] == 18446744073709551615
    assert {p["id"] for p in data["products"]} >= {"atlas-a3", "atlas-800i-a2"}
    assert any(e["api"] == "CacheManager.deallocate_blocks_cache" for e in data["errata"])


def test_dump_of_a_broken_spec_fails(tmp_path: Path, spec_copy: Path) -> None:
    (spec_copy / "products.yaml").write_text("products: 3\n", "utf-8")
    result = run_cli("spec", "dump", "--spec-dir", str(spec_copy), cwd=tmp_path)
    assert result.returncode == 1
    assert "spec/products.yaml" in result.stderr
    assert result.stdout == ""


def test_divergences_list_every_vendor_note_with_its_source(tmp_path: Path) -> None:
    result = run_cli("spec", "divergences", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    spec = load_spec()
    noted = [c for c in spec.clauses() if c.vendor_observed is not None]
    headers = [line.split()[0] for line in result.stdout.splitlines() if not line.startswith(" ")]
    assert [h for h in headers if h in {c.id for c in spec.clauses()}] == [c.id for c in noted]
    block = result.stdout.split("allocate_cache.keys.duplicate_last_wins  ", 1)[1]
    assert "vendor:   Rejects identical keys" in block
    assert "source:   hicann/hixl" in block
    assert "erratum:  E-duplicate-keys-vendor-rejects" in block
    assert result.stdout.rstrip().endswith(
        f"{len(noted)} clauses where the shipped vendor package is recorded to differ; "
        f"{sum(e.kind == 'vendor-divergence' for e in spec.errata)} vendor-divergence errata"
    )
