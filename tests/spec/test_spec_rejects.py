"""Every rule of the spec format has a broken spec that it rejects, naming the file and key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from datadist_conformance.speclib import SpecError, load_spec

from .conftest import EditYaml

ALLOC = "api/CacheManager.allocate_cache.yaml"
ALLOC_FILE = "spec/api/CacheManager.allocate_cache.yaml"
COPY = "api/CacheManager.copy_cache.yaml"
COPY_FILE = "spec/api/CacheManager.copy_cache.yaml"


def _clause(doc: Any, clause_id: str) -> Any:
    return next(c for c in doc["clauses"] if c["id"] == clause_id)


def _set(path: list[Any], value: Any) -> Callable[[Any], None]:
    def mutate(doc: Any) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Callable[[Any], None]:
    def mutate(doc: Any) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


# (case id, file to edit, mutation, file named in the problem, text the problem must contain)
SCHEMA_CASES: list[tuple[str, str, Callable[[Any], None], str, str]] = [
    (
        "api-unknown-top-level-key",
        ALLOC,
        _set(["colour"], "blue"),
        ALLOC_FILE,
        "'colour' was unexpected",
    ),
    (
        "api-missing-required-key",
        ALLOC,
        _delete(["status"]),
        ALLOC_FILE,
        "'status' is a required property",
    ),
    (
        "api-bad-kind-enum",
        ALLOC,
        _set(["kind"], "function"),
        ALLOC_FILE,
        "kind: 'function' is not one of",
    ),
    (
        "api-bad-status-enum",
        ALLOC,
        _set(["status"], "obsolete"),
        ALLOC_FILE,
        "status: 'obsolete' is not one of",
    ),
    (
        "api-bad-id-pattern",
        ALLOC,
        _set(["id"], "cache manager"),
        ALLOC_FILE,
        "id: 'cache manager' does not match",
    ),
    ("api-owner-wrong-type", ALLOC, _set(["owner"], 3), ALLOC_FILE, "owner: 3 is not of type"),
    (
        "api-source-bad-document",
        ALLOC,
        _set(["source", "document"], "blog"),
        ALLOC_FILE,
        "source/document",
    ),
    (
        "api-summary-missing-en",
        ALLOC,
        _delete(["summary", "en"]),
        ALLOC_FILE,
        "summary: 'en' is a required property",
    ),
    (
        "api-support-bad-pattern",
        ALLOC,
        _set(["support"], "Legacy CM"),
        ALLOC_FILE,
        "support: 'Legacy CM' does not match",
    ),
    (
        "method-without-signature",
        ALLOC,
        _delete(["signature"]),
        ALLOC_FILE,
        "'signature' is a required property",
    ),
    (
        "method-without-returns",
        ALLOC,
        _delete(["returns"]),
        ALLOC_FILE,
        "'returns' is a required property",
    ),
    (
        "config-option-without-option",
        "api/LLMConfig.mem_pool_cfg.yaml",
        _delete(["option"]),
        "spec/api/LLMConfig.mem_pool_cfg.yaml",
        "'option' is a required property",
    ),
    (
        "enum-without-members",
        "api/Placement.yaml",
        _delete(["members"]),
        "spec/api/Placement.yaml",
        "'members' is a required property",
    ),
    (
        "enum-member-bad-name",
        "api/Placement.yaml",
        _set(["members", 0, "name"], "host"),
        "spec/api/Placement.yaml",
        "members/0/name",
    ),
    (
        "param-unknown-key",
        ALLOC,
        _set(["signature", "params", 0, "nullable"], True),
        ALLOC_FILE,
        "signature/params/0: Additional properties are not allowed",
    ),
    (
        "param-required-with-default",
        ALLOC,
        _set(["signature", "params", 0, "default"], "None"),
        ALLOC_FILE,
        "signature/params/0",
    ),
    (
        "param-optional-without-default",
        ALLOC,
        _delete(["signature", "params", 1, "default"]),
        ALLOC_FILE,
        "signature/params/1: 'default' is a required property",
    ),
    (
        "param-bad-name",
        ALLOC,
        _set(["signature", "params", 0, "name"], "CacheDesc"),
        ALLOC_FILE,
        "signature/params/0/name",
    ),
    (
        "signature-missing-text",
        ALLOC,
        _delete(["signature", "text"]),
        ALLOC_FILE,
        "signature: 'text' is a required",
    ),
    (
        "error-unknown-exception",
        ALLOC,
        _set(["errors", 0, "exceptions"], ["KeyError"]),
        ALLOC_FILE,
        "errors/0/exceptions/0: 'KeyError' is not one of",
    ),
    (
        "option-bad-format",
        "api/LLMConfig.mem_pool_cfg.yaml",
        _set(["option", "format"], "yaml"),
        "spec/api/LLMConfig.mem_pool_cfg.yaml",
        "option/format",
    ),
    (
        "errata-ref-bad-pattern",
        ALLOC,
        _set(["errata"], ["typo-1"]),
        ALLOC_FILE,
        "errata/0: 'typo-1' does not match",
    ),
    (
        "clause-unknown-key",
        ALLOC,
        _set(["clauses", 0, "severity"], "high"),
        ALLOC_FILE,
        "clauses/0: Additional properties are not allowed",
    ),
    (
        "clause-missing-text",
        ALLOC,
        _delete(["clauses", 0, "text"]),
        ALLOC_FILE,
        "clauses/0: 'text' is a required",
    ),
    (
        "clause-bad-id-pattern",
        ALLOC,
        _set(["clauses", 0, "id"], "allocate cache"),
        ALLOC_FILE,
        "clauses/0/id",
    ),
    (
        "clause-bad-basis",
        ALLOC,
        _set(["clauses", 0, "basis"], "folklore"),
        ALLOC_FILE,
        "clauses/0/basis",
    ),
    (
        "implied-without-rationale",
        ALLOC,
        lambda d: _clause(d, "allocate_cache.pool.capacity").pop("rationale"),
        ALLOC_FILE,
        "'rationale' is a required property",
    ),
    (
        "erratum-basis-without-errata",
        "api/CacheManager.deallocate_blocks_cache.yaml",
        lambda d: d["clauses"][0].pop("errata"),
        "spec/api/CacheManager.deallocate_blocks_cache.yaml",
        "'errata' is a required property",
    ),
    (
        "vendor-observed-missing-source",
        ALLOC,
        lambda d: _clause(d, "allocate_cache.keys.duplicate_last_wins")["vendor_observed"].pop(
            "source"
        ),
        ALLOC_FILE,
        "'source' is a required property",
    ),
    (
        "products-unknown-key",
        "products.yaml",
        _set(["products", 0, "vendor"], "x"),
        "spec/products.yaml",
        "products/0: Additional properties are not allowed",
    ),
    (
        "products-missing-name",
        "products.yaml",
        _delete(["products", 0, "name"]),
        "spec/products.yaml",
        "products/0: 'name' is a required property",
    ),
    (
        "feature-set-support-not-bool",
        "products.yaml",
        _set(["feature_sets", 0, "support", "atlas-a3"], "yes"),
        "spec/products.yaml",
        "feature_sets/0/support/atlas-a3: 'yes' is not of type 'boolean'",
    ),
    (
        "errata-bad-kind",
        "errata.yaml",
        _set(["errata", 0, "kind"], "bug"),
        "spec/errata.yaml",
        "errata/0/kind",
    ),
    (
        "errata-missing-resolution",
        "errata.yaml",
        _delete(["errata", 0, "resolution"]),
        "spec/errata.yaml",
        "'resolution' is a required property",
    ),
    (
        "kinds-bad-capability",
        "clause-kinds.yaml",
        _set(["kinds", 0, "requires"], ["gpu"]),
        "spec/clause-kinds.yaml",
        "kinds/0/requires/0: 'gpu' is not one of",
    ),
    (
        "kinds-missing-params",
        "clause-kinds.yaml",
        _delete(["kinds", 0, "params"]),
        "spec/clause-kinds.yaml",
        "kinds/0: 'params' is a required property",
    ),
    (
        "constants-not-integer",
        "constants.yaml",
        _set(["constants", 0, "value"], "2**64-1"),
        "spec/constants.yaml",
        "constants/0/value",
    ),
]

# Cross-file rules (speclib/lint.py).
LINT_CASES: list[tuple[str, str, Callable[[Any], None], str, str]] = [
    (
        "duplicate-clause-id",
        COPY,
        _set(["clauses", 1, "id"], "copy_cache.signature"),
        COPY_FILE,
        "clause id 'copy_cache.signature' is also used",
    ),
    (
        "unknown-clause-kind",
        ALLOC,
        _set(["clauses", 1, "kind"], "returns_something"),
        ALLOC_FILE,
        "clauses/1/kind: unknown clause kind 'returns_something'",
    ),
    (
        "clause-params-against-kind",
        ALLOC,
        _set(["clauses", 1, "params"], {"type": 5}),
        ALLOC_FILE,
        "clauses/1/params/type: 5 is not of type 'string'",
    ),
    (
        "clause-params-unknown-key",
        ALLOC,
        _set(["clauses", 1, "params", "strict"], True),
        ALLOC_FILE,
        "clauses/1/params: Additional properties are not allowed",
    ),
    (
        "clause-id-prefix",
        ALLOC,
        _set(["clauses", 1, "id"], "allocate.returns.cache"),
        ALLOC_FILE,
        "clause ids of CacheManager.allocate_cache start with 'allocate_cache'",
    ),
    (
        "stated-seed-clause-without-zh",
        ALLOC,
        lambda d: d["clauses"][1]["text"].pop("zh"),
        ALLOC_FILE,
        "clauses/1/text: a stated clause of a seed entry needs the verbatim sentence",
    ),
    (
        "unknown-erratum-on-clause",
        ALLOC,
        _set(["clauses", 1, "errata"], ["E-nope"]),
        ALLOC_FILE,
        "clauses/1/errata: unknown erratum 'E-nope'",
    ),
    (
        "unknown-erratum-on-api",
        ALLOC,
        _set(["errata"], ["E-nope"]),
        ALLOC_FILE,
        "errata: unknown erratum 'E-nope'",
    ),
    (
        "unknown-feature-set",
        ALLOC,
        _set(["support"], "quantum"),
        ALLOC_FILE,
        "support: unknown feature set 'quantum'",
    ),
    (
        "id-owner-name-mismatch",
        ALLOC,
        _set(["name"], "allocate"),
        ALLOC_FILE,
        "id: id must be 'CacheManager.allocate'",
    ),
    (
        "unknown-type-name",
        ALLOC,
        _set(["signature", "params", 0, "type"], "CacheDescriptor"),
        ALLOC_FILE,
        "signature/params/0/type: unknown type name 'CacheDescriptor'",
    ),
    (
        "bad-type-expression",
        ALLOC,
        _set(["signature", "params", 1, "type"], "List[CacheKey"),
        ALLOC_FILE,
        "signature/params/1/type: bad type expression",
    ),
    (
        "required-after-optional",
        COPY,
        _set(["signature", "params", 6], {"name": "late", "type": "int", "required": True}),
        COPY_FILE,
        "signature/params/6: a required parameter follows an optional one",
    ),
    (
        "error-names-foreign-clause",
        ALLOC,
        _set(["errors", 0, "clause"], "copy_cache.bounds"),
        ALLOC_FILE,
        "errors/0/clause: 'copy_cache.bounds' is not a clause of CacheManager.allocate_cache",
    ),
    (
        "replaced-signature-without-erratum",
        "api/CacheManager.deallocate_cache.yaml",
        _set(["signature_as_printed"], "deallocate(x)"),
        "spec/api/CacheManager.deallocate_cache.yaml",
        "signature_as_printed: a replaced signature needs the erratum",
    ),
    (
        "product-missing-from-feature-set",
        "products.yaml",
        lambda d: d["feature_sets"][0]["support"].pop("atlas-a3"),
        "spec/products.yaml",
        "feature_sets/0/support: product 'atlas-a3' is missing",
    ),
    (
        "unknown-product-in-feature-set",
        "products.yaml",
        _set(["feature_sets", 0, "support", "atlas-z9"], True),
        "spec/products.yaml",
        "unknown product 'atlas-z9'",
    ),
    (
        "erratum-names-unknown-api",
        "errata.yaml",
        _set(["errata", 0, "api"], "CacheManager.nothing"),
        "spec/errata.yaml",
        "errata/0/api: unknown API 'CacheManager.nothing'",
    ),
    (
        "unused-clause-kind",
        "clause-kinds.yaml",
        lambda d: d["kinds"].append(
            {"id": "never_used", "description": "d", "params": {"type": "object"}}
        ),
        "spec/clause-kinds.yaml",
        "kind 'never_used' is used by no clause",
    ),
    (
        "unknown-constant-in-readings",
        "api/LLMConfig.host_mem_pool_cfg.yaml",
        lambda d: _clause(d, "host_mem_pool_cfg.max_20g")["params"].update(readings=["TWENTY_GB"]),
        "spec/api/LLMConfig.host_mem_pool_cfg.yaml",
        "unknown constant 'TWENTY_GB'",
    ),
    (
        "seed-clause-at-as-shipped-level",
        ALLOC,
        lambda d: _clause(d, "allocate_cache.keys.placeholder").update(level="as-shipped"),
        ALLOC_FILE,
        "a clause of a seed entry is at level document",
    ),
    (
        "document-level-vendor-clause-without-rationale",
        "api/CacheDesc.yaml",
        lambda d: _clause(d, "CacheDesc.signature").update(level="document"),
        "spec/api/CacheDesc.yaml",
        "needs a rationale naming the seed text",
    ),
    (
        "unknown-level",
        ALLOC,
        lambda d: _clause(d, "allocate_cache.keys.placeholder").update(level="vendor"),
        ALLOC_FILE,
        "'vendor' is not one of ['document', 'as-shipped']",
    ),
]


def _problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(root)
    return [str(problem) for problem in caught.value.problems]


@pytest.mark.parametrize(
    ("file", "mutate", "named_file", "message"),
    [c[1:] for c in SCHEMA_CASES + LINT_CASES],
    ids=[c[0] for c in SCHEMA_CASES + LINT_CASES],
)
def test_broken_spec_is_rejected_naming_file_and_key(
    edit_yaml: EditYaml, file: str, mutate: Callable[[Any], None], named_file: str, message: str
) -> None:
    root = edit_yaml(file, mutate)
    problems = _problems(root)
    assert any(p.startswith(named_file + ":") and message in p for p in problems), problems


def test_the_unbroken_copy_loads(spec_copy: Path) -> None:
    assert load_spec(spec_copy).apis


def test_file_name_must_match_id(spec_copy: Path) -> None:
    (spec_copy / ALLOC).rename(spec_copy / "api/CacheManager.alloc.yaml")
    problems = _problems(spec_copy)
    assert any(
        "spec/api/CacheManager.alloc.yaml: id: the file of 'CacheManager.allocate_cache'" in p
        for p in problems
    )


def test_duplicate_yaml_key_is_rejected(spec_copy: Path) -> None:
    path = spec_copy / ALLOC
    path.write_text(
        path.read_text("utf-8").replace("kind: method\n", "kind: method\nkind: method\n", 1),
        "utf-8",
    )
    problems = _problems(spec_copy)
    assert any(
        p.startswith(ALLOC_FILE + ": not valid YAML") and "duplicate key 'kind'" in p
        for p in problems
    )


def test_invalid_yaml_is_rejected(spec_copy: Path) -> None:
    (spec_copy / COPY).write_text("id: [unclosed\n", "utf-8")
    problems = _problems(spec_copy)
    assert any(p.startswith(COPY_FILE + ": not valid YAML") for p in problems)


def test_missing_top_level_file_is_rejected(spec_copy: Path) -> None:
    (spec_copy / "errata.yaml").unlink()
    assert "spec/errata.yaml: file is missing" in _problems(spec_copy)


def test_all_problems_are_reported_at_once(edit_yaml: EditYaml, spec_copy: Path) -> None:
    edit_yaml(ALLOC, _set(["status"], "obsolete"))
    edit_yaml(COPY, _set(["kind"], "function"))
    problems = _problems(spec_copy)
    assert any(p.startswith(ALLOC_FILE) for p in problems)
    assert any(p.startswith(COPY_FILE) for p in problems)
