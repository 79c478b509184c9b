"""Find, validate and load the spec into typed, immutable objects.

Validation has two layers: each file against its JSON Schema (spec/schema/),
then the cross-file rules of :mod:`.lint` (unique IDs, known kinds, clause
params against their kind, errata and feature-set references, type
expressions). Any problem raises :class:`SpecError` naming the file and key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema
import yaml

from . import lint
from .errors import Problem, SpecError
from .model import (
    Api,
    Clause,
    ClauseKind,
    EnumMember,
    Erratum,
    FeatureSet,
    Option,
    OptionField,
    Param,
    Product,
    Property,
    Signature,
    Spec,
    Text,
    VendorObserved,
    frozen_mapping,
)
from .typeexpr import TypeExpr, TypeExprError, parse

__all__ = ["SPEC_DIR_ENV", "load_spec", "spec_root"]

#: Environment variable that points the suite at another spec directory.
SPEC_DIR_ENV = "DATADIST_CONFORMANCE_SPEC_DIR"

#: Top-level spec files and the schema each one follows.
SINGLE_FILES = {
    "products.yaml": "products.schema.json",
    "errata.yaml": "errata.schema.json",
    "clause-kinds.yaml": "clause-kinds.schema.json",
    "constants.yaml": "constants.schema.json",
}
API_SCHEMA = "api.schema.json"

Doc = dict[str, Any]


def spec_root() -> Path:
    """The spec directory: $DATADIST_CONFORMANCE_SPEC_DIR, the installed package data, or the checkout."""
    override = os.environ.get(SPEC_DIR_ENV)
    if override:
        return Path(override)
    installed = Path(str(resources.files("datadist_conformance"))) / "spec"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parents[3] / "spec"


def load_spec(root: Path | str | None = None) -> Spec:
    """Load and validate the spec under ``root`` (default :func:`spec_root`)."""
    return _load_cached(str(Path(root) if root is not None else spec_root()))


@functools.cache
def _load_cached(root: str) -> Spec:
    return _load(Path(root))


def _load(root: Path) -> Spec:
    if not (root / "api").is_dir():
        raise SpecError(
            [Problem(_display(root, root / "api"), "", "spec directory has no api/ folder")]
        )
    schemas = {
        path.name: jsonschema.Draft202012Validator(json.loads(path.read_text("utf-8")))
        for path in (root / "schema").glob("*.json")
    }
    problems: list[Problem] = []
    docs: dict[str, Doc] = {}
    for name, schema_name in SINGLE_FILES.items():
        doc = _read_and_validate(root, root / name, schemas, schema_name, problems)
        if doc is not None:
            docs[name] = doc
    api_docs: dict[str, Doc] = {}
    for path in sorted((root / "api").glob("*.yaml")):
        doc = _read_and_validate(root, path, schemas, API_SCHEMA, problems)
        if doc is not None:
            api_docs[_display(root, path)] = doc
    if problems:
        raise SpecError(problems)

    spec = _build(root, docs, api_docs, problems)
    problems.extend(lint.check(spec, api_docs))
    if problems:
        raise SpecError(problems)
    return spec


if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:  # libyaml's parser where PyYAML was built with it (much faster), else the pure-Python one
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):
    """A safe YAML loader that rejects duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node)
        if key in mapping:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _display(root: Path, path: Path) -> str:
    """How a spec file is named in messages: spec/<relative path>."""
    try:
        return "spec/" + path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _read_and_validate(
    root: Path,
    path: Path,
    schemas: Mapping[str, jsonschema.Draft202012Validator],
    schema_name: str,
    problems: list[Problem],
) -> Doc | None:
    name = _display(root, path)
    if not path.is_file():
        problems.append(Problem(name, "", "file is missing"))
        return None
    try:
        doc = yaml.load(
            path.read_text("utf-8"), Loader=_StrictLoader
        )  # _StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        problems.append(Problem(name, "", f"not valid YAML: {exc}"))
        return None
    if schema_name not in schemas:
        problems.append(Problem(f"spec/schema/{schema_name}", "", "schema file is missing"))
        return None
    errors = sorted(
        schemas[schema_name].iter_errors(doc), key=lambda error: list(error.absolute_path)
    )
    for error in errors:
        problems.append(Problem(name, _json_path(error.absolute_path), error.message))
    return doc if not errors and isinstance(doc, dict) else None


def _json_path(path: Any) -> str:
    return "/".join(str(part) for part in path)


def _content_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".yaml", ".json"}:
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


# -- building objects from validated documents ---------------------------------------------------


def _build(
    root: Path, docs: Mapping[str, Doc], api_docs: Mapping[str, Doc], problems: list[Problem]
) -> Spec:
    products = tuple(
        Product(id=p["id"], name=p["name"], name_en=p.get("name_en"))
        for p in docs["products.yaml"]["products"]
    )
    feature_sets = tuple(
        FeatureSet(
            id=f["id"],
            description=f["description"],
            source=f["source"],
            support=frozen_mapping(f["support"]),
        )
        for f in docs["products.yaml"]["feature_sets"]
    )
    support_by_set = {f.id: f.support for f in feature_sets}
    kinds_doc = docs["clause-kinds.yaml"]
    shared_defs = kinds_doc.get("defs", {})
    clause_kinds = tuple(
        ClauseKind(
            id=k["id"],
            description=k["description"],
            params_schema=frozen_mapping({**k["params"], "$defs": shared_defs}),
            requires=frozenset(k.get("requires", ())),
            testable=k.get("testable", True),
        )
        for k in kinds_doc["kinds"]
    )
    errata = tuple(
        Erratum(
            id=e["id"],
            api=e["api"],
            kind=e["kind"],
            summary=e["summary"],
            source=e["source"],
            resolution=e["resolution"],
            quote=e.get("quote"),
        )
        for e in docs["errata.yaml"]["errata"]
    )
    constants = frozen_mapping({c["name"]: c["value"] for c in docs["constants.yaml"]["constants"]})
    apis = tuple(
        _build_api(file, doc, support_by_set.get(doc["support"], {}), problems)
        for file, doc in api_docs.items()
    )
    return Spec(
        apis=apis,
        products=products,
        feature_sets=feature_sets,
        errata=errata,
        clause_kinds=clause_kinds,
        constants=constants,
        content_hash=_content_hash(root),
        root=str(root),
    )


def _text(doc: Mapping[str, Any] | None) -> Text | None:
    return None if doc is None else Text(en=doc["en"], zh=doc.get("zh"))


def _type(text: str, file: str, path: str, problems: list[Problem]) -> TypeExpr:
    try:
        return parse(text)
    except TypeExprError as exc:
        problems.append(Problem(file, path, f"bad type expression: {exc}"))
        return TypeExpr("object")


def _build_api(file: str, doc: Doc, support: Mapping[str, bool], problems: list[Problem]) -> Api:
    returns = doc.get("returns")
    return Api(
        id=doc["id"],
        owner=doc["owner"],
        name=doc["name"],
        kind=doc["kind"],
        status=doc["status"],
        source_document=doc["source"]["document"],
        source_section=doc["source"]["section"],
        source_ref=doc["source"].get("ref"),
        summary=Text(en=doc["summary"]["en"], zh=doc["summary"].get("zh")),
        support=doc["support"],
        products=frozen_mapping(support),
        clauses=tuple(_build_clause(doc, c) for c in doc["clauses"]),
        signature=_build_signature(doc["signature"], file, problems)
        if "signature" in doc
        else None,
        signature_as_printed=doc.get("signature_as_printed"),
        returns=_type(returns["type"], file, "returns/type", problems) if returns else None,
        returns_text=returns["type"] if returns else None,
        returns_description=_text(returns.get("description")) if returns else None,
        errors=tuple((tuple(e["exceptions"]), e["clause"]) for e in doc.get("errors", ())),
        option=_build_option(doc["option"]) if doc.get("option") else None,
        properties=tuple(
            Property(
                name=p["name"],
                type_text=p["type"],
                type=_type(p["type"], file, f"properties/{i}/type", problems),
                description=p.get("description"),
            )
            for i, p in enumerate(doc.get("properties", ()))
        ),
        members=tuple(EnumMember(**m) for m in doc.get("members", ())),
        bases=tuple(doc.get("bases", ())),
        errata=tuple(doc.get("errata", ())),
        notes=doc.get("notes"),
        file=file,
    )


def _build_signature(sig: Doc, file: str, problems: list[Problem]) -> Signature:
    params = tuple(
        Param(
            name=p["name"],
            type_text=p["type"],
            type=_type(p["type"], file, f"signature/params/{i}/type", problems),
            required=p["required"],
            default=p.get("default"),
            description=_text(p.get("description")),
        )
        for i, p in enumerate(sig["params"])
    )
    var_kw = sig.get("var_keyword")
    return Signature(
        text=sig["text"],
        params=params,
        var_keyword=var_kw["name"] if var_kw else None,
        var_keyword_keys=tuple(var_kw["keys"]) if var_kw else (),
    )


def _build_clause(doc: Doc, c: Doc) -> Clause:
    """A clause; its level defaults to document for the seed's entries, as-shipped otherwise."""
    return Clause(
        id=c["id"],
        api_id=doc["id"],
        kind=c["kind"],
        text=Text(en=c["text"]["en"], zh=c["text"].get("zh")),
        basis=c.get("basis", "stated"),
        params=frozen_mapping(c.get("params")),
        rationale=c.get("rationale"),
        untestable=c.get("untestable"),
        vendor_observed=VendorObserved(**c["vendor_observed"]) if "vendor_observed" in c else None,
        errata=tuple(c.get("errata", ())),
        level=c.get("level", "document" if doc["source"]["document"] == "seed" else "as-shipped"),
    )


def _build_option(option: Doc) -> Option:
    return Option(
        key=option["key"],
        format=option["format"],
        fields=tuple(
            OptionField(
                **{k: v for k, v in f.items() if k != "description"},
                description=_text(f.get("description")),
            )
            for f in option.get("fields", ())
        ),
    )
