"""The spec says what the seed says: documented signatures, verbatim clause texts, products."""

from __future__ import annotations

import ast
import re

import pytest

from datadist_conformance.speclib import Api, Spec, load_spec
from datadist_conformance.speclib.model import OptionField, Param

from .conftest import seed_sections

SPEC: Spec = load_spec()

#: The ten documented entries, with their parameters as the seed prints them
#: (name, type, default) -- written out here independently of spec/.
DOCUMENTED = {
    "CacheManager.allocate_cache": [
        ("cache_desc", "CacheDesc", None),
        ("cache_keys", "Union[Tuple[CacheKey], List[CacheKey]]", "()"),
    ],
    "CacheManager.deallocate_cache": [("cache", "Cache", None)],
    "CacheManager.remove_cache_key": [("cache_key", "CacheKey", None)],
    "CacheManager.copy_cache": [
        ("dst", "Cache", None),
        ("src", "Cache", None),
        ("dst_batch_index", "int", "0"),
        ("src_batch_index", "int", "0"),
        ("offset", "int", "0"),
        ("size", "int", "-1"),
        ("req_id", "Optional[int]", "None"),
    ],
    "CacheManager.allocate_blocks_cache": [
        ("cache_desc", "CacheDesc", None),
        ("blocks_cache_key", "Optional[BlocksCacheKey]", "None"),
    ],
    # The seed prints allocate_cache's prototype here (E-deallocate-blocks-cache-copy).
    "CacheManager.deallocate_blocks_cache": [("cache", "Cache", None)],
    "CacheManager.copy_blocks": [
        ("cache", "Cache", None),
        ("copy_block_info", "Dict[int, List[int]]", None),
    ],
    "CacheManager.swap_blocks": [
        ("src_cache", "Cache", None),
        ("dst_cache", "Cache", None),
        ("src_to_dst", "Dict[int, int]", None),
    ],
    "LLMConfig.mem_pool_cfg": [("mem_pool_cfg", "string", None)],
    "LLMConfig.host_mem_pool_cfg": [("host_mem_pool_cfg", "string", None)],
}


def test_the_ten_documented_entries_are_deprecated_seed_entries() -> None:
    documented = {api.id for api in SPEC.apis if api.status == "deprecated"}
    assert documented == set(DOCUMENTED)
    for api_id in DOCUMENTED:
        assert SPEC.api(api_id).source_document == "seed"


@pytest.mark.parametrize("api_id", sorted(DOCUMENTED))
def test_documented_parameters_names_order_types_defaults(api_id: str) -> None:
    signature = SPEC.api(api_id).signature
    assert signature is not None
    actual = [(p.name, p.type_text, p.default) for p in signature.params]
    assert actual == DOCUMENTED[api_id], f"{api_id}: spec has {actual}"
    for param in signature.params:
        assert param.required == (param.default is None), f"{api_id}.{param.name}"


def _prototype_params(text: str) -> list[tuple[str, str | None, str | None]]:
    """(name, type, default) of each parameter of a printed prototype."""
    inner = text[text.index("(") + 1 : text.rindex(")")]
    params, depth, current = [], 0, ""
    for char in inner:
        depth += char == "["
        depth -= char == "]"
        if char == "," and depth == 0:
            params.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        params.append(current)
    result = []
    for raw in params:
        head, _, default = raw.partition("=")
        name, _, type_text = head.partition(":")
        result.append((name.strip(), type_text.strip() or None, default.strip() or None))
    return result


@pytest.mark.parametrize(
    "api_id", sorted(a.id for a in SPEC.apis if a.signature and "*" not in a.signature.text)
)
def test_signature_text_agrees_with_params(api_id: str) -> None:
    api = SPEC.api(api_id)
    assert api.signature is not None
    printed = _prototype_params(api.signature.text)
    printed = [p for p in printed if p[0] != "self"]
    assert [name for name, _, _ in printed] == [p.name for p in api.signature.params]
    for (name, type_text, default), param in zip(printed, api.signature.params, strict=True):
        if type_text is not None and api.kind != "config_option":
            assert type_text == param.type_text or param.type_text.startswith("Optional"), name
        if default is not None and default != "_NUM_TENSORS_PER_LAYER":
            assert default == param.default, (
                f"{api_id}.{name}: printed {default}, spec {param.default}"
            )


def _seed_prototype(seed_text: str, name: str) -> str:
    section = seed_text.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0].split("\n## ", 1)[0]
    block = section.split("**函数原型**", 1)[1]
    return block.split("```", 2)[1].strip()


@pytest.mark.parametrize("api_id", sorted(DOCUMENTED))
def test_signature_matches_the_seed_prototype(seed_text: str, api_id: str) -> None:
    api = SPEC.api(api_id)
    assert api.signature is not None
    printed = _seed_prototype(seed_text, api.name)
    expected = api.signature_as_printed or api.signature.text
    assert printed == expected


SEED_ENTRIES = [
    api for api in SPEC.apis if api.source_document == "seed" and " / " in api.source_section
]
#: The parts of a seed section whose sentences are traced to the spec (prototypes and examples
#: are code, checked by test_signature_matches_the_seed_prototype).
TRACED_PARTS = ("函数功能", "参数说明", "返回值", "约束说明")


def _zh_texts(api: Api) -> list[tuple[str, str]]:
    """(where, Chinese text) of an entry: its clauses, summary and parameter descriptions."""
    texts = [(clause.id, clause.text.zh) for clause in api.clauses if clause.text.zh]
    if api.summary.zh:
        texts.append((f"{api.id} summary", api.summary.zh))
    if api.returns_description is not None and api.returns_description.zh:
        texts.append((f"{api.id} returns", api.returns_description.zh))
    described: list[Param | OptionField] = [
        *(api.signature.params if api.signature else ()),
        *(api.option.fields if api.option else ()),
    ]
    for item in described:
        if item.description is not None and item.description.zh:
            texts.append((f"{api.id}({item.name})", item.description.zh))
    return texts


def test_every_seed_entry_names_a_section_of_the_seed(seed_text: str) -> None:
    sections = seed_sections(seed_text)
    assert sorted(api.source_section for api in SEED_ENTRIES) == sorted(sections)


@pytest.mark.parametrize("api", SEED_ENTRIES, ids=[api.id for api in SEED_ENTRIES])
def test_chinese_texts_are_verbatim_from_their_own_section(seed_text: str, api: Api) -> None:
    """A clause's text must stand in the section of its own entry, not merely in the document."""
    section = seed_sections(seed_text)[api.source_section]
    missing = [(where, text) for where, text in _zh_texts(api) if text not in section]
    assert not missing, f"not found verbatim in seed section {api.source_section!r}: {missing}"


def _sentences(part: str, body: str) -> list[str]:
    """The sentences of one part of a section: lines, or a table's description cells."""
    if part != "参数说明":
        return [line.strip().lstrip("-").strip() for line in body.splitlines()]
    cells = []
    for row in body.splitlines():
        columns = [c.strip() for c in row.strip().strip("|").split("|")]
        if (
            len(columns) == 3
            and not set(columns[0]) <= set("-")
            and columns[0]
            not in {
                "参数名称",
                "配置项",
            }
        ):
            cells.append(columns[2])
    return cells


#: Sections the spec does not apply, each with the erratum that says so.
NOT_APPLIED = {"CacheManager.deallocate_blocks_cache": "E-deallocate-blocks-cache-copy"}


def test_the_section_not_applied_repeats_allocate_cache(seed_text: str) -> None:
    """deallocate_blocks_cache's section is allocate_cache's word for word, so exempting it from
    tracing hides no sentence of its own."""
    sections = seed_sections(seed_text)
    copy = sections["CacheManager / deallocate_blocks_cache"]
    assert copy == sections["CacheManager / allocate_cache"]
    assert (
        NOT_APPLIED["CacheManager.deallocate_blocks_cache"]
        in SPEC.api("CacheManager.deallocate_blocks_cache").errata
    )


TRACED = [api for api in SEED_ENTRIES if api.id not in NOT_APPLIED]


@pytest.mark.parametrize("api", TRACED, ids=[api.id for api in TRACED])
def test_every_seed_sentence_is_traced(seed_text: str, api: Api) -> None:
    """Each sentence of 函数功能, 参数说明, 返回值 and 约束说明 is made of its entry's texts."""
    section = seed_sections(seed_text)[api.source_section]
    fragments = sorted({text for _, text in _zh_texts(api)}, key=len, reverse=True)
    uncovered = []
    for part in TRACED_PARTS:
        found = re.search(rf"\*\*{part}\*\*\n\n(.*?)(?=\n\*\*|\Z)", section, re.S)
        for sentence in _sentences(part, found.group(1) if found else ""):
            rest = sentence
            for fragment in fragments:
                rest = rest.replace(fragment, "")
            if rest.replace("<br>", "").strip("，。；:、 ") and rest != "无":
                uncovered.append((part, sentence, rest))
    assert not uncovered, f"{api.id}: seed sentences no text of the entry covers: {uncovered}"


def test_clause_ids_are_unique() -> None:
    ids = [clause.id for clause in SPEC.clauses()]
    assert len(ids) == len(set(ids))


def test_products_are_the_seed_table() -> None:
    expected = {
        "atlas-a3": ("Atlas A3 训练系列产品/Atlas A3 推理系列产品", True),
        "atlas-800i-a2": ("Atlas 800I A2 推理产品/A200I A2 Box 异构组件", True),
        "atlas-a2-training": ("Atlas A2 训练系列产品", False),
        "atlas-200i-500-a2": ("Atlas 200I/500 A2 推理产品", False),
        "atlas-inference": ("Atlas 推理系列产品", False),
        "atlas-training": ("Atlas 训练系列产品", False),
    }
    legacy = next(f for f in SPEC.feature_sets if f.id == "legacy-cache-manager")
    assert {p.id: (p.name, legacy.support[p.id]) for p in SPEC.products} == expected
    for api_id in DOCUMENTED:
        assert dict(SPEC.api(api_id).products) == {k: v[1] for k, v in expected.items()}


def test_gating_clauses_cover_each_legacy_method_once() -> None:
    """Every legacy CacheManager method is gated by exactly one clause, whose template has calls
    for it (a new method without one would go unchecked on unsupported lines)."""
    from datadist_conformance.templates.products import METHODS

    methods = sorted(
        a.name
        for a in SPEC.apis
        if a.support == "legacy-cache-manager" and a.owner == "CacheManager" and a.kind == "method"
    )
    gated = sorted(
        m
        for c in SPEC.clauses()
        if c.kind == "unsupported_on_product" and c.params["feature_set"] == "legacy-cache-manager"
        for m in c.params["methods"]
    )
    assert gated == methods, (gated, methods)
    assert set(gated) <= METHODS, sorted(set(gated) - METHODS)


def test_product_names_are_verbatim_from_the_seed_table(seed_text: str) -> None:
    for product in SPEC.products:
        assert f"| {product.name} |" in seed_text, product.name


def test_constants() -> None:
    assert SPEC.constants["UINT64_MAX"] == 2**64 - 1
    assert SPEC.constants["HOST_POOL_MAX_DECIMAL"] == 20 * 10**9
    assert SPEC.constants["HOST_POOL_MAX_BINARY"] == 20 * 2**30
    assert (SPEC.constants["PAGE_SHIFT_MIN"], SPEC.constants["PAGE_SHIFT_MAX_EXCLUSIVE"]) == (
        10,
        31,
    )
    assert SPEC.constants["PAGE_SHIFT_DEFAULT"] == 16


def test_required_errata_are_recorded() -> None:
    ids = {e.id for e in SPEC.errata}
    assert {
        "E-deallocate-blocks-cache-copy",
        "E-duplicate-keys-vendor-rejects",
        "E-host-pool-20g-unit",
        "E-typos",
    } <= ids
    duplicate = SPEC.clause("allocate_cache.keys.duplicate_last_wins")
    assert duplicate.vendor_observed is not None
    assert "E-duplicate-keys-vendor-rejects" in duplicate.errata


def test_defaults_are_python_literals_or_enum_members() -> None:
    for api in SPEC.apis:
        for param in api.signature.params if api.signature else ():
            if param.default is None:
                continue
            try:
                ast.literal_eval(param.default)
            except ValueError:
                assert re.fullmatch(r"[A-Z]\w*\.[A-Z_]+", param.default), f"{api.id}.{param.name}"


def test_status_codes_follow_the_vendor_formula() -> None:
    members = {m.name: m.value for m in SPEC.api("LLMStatusCode").members}
    assert members["LLM_PARAM_INVALID"] == 0x5010B005
    assert members["LLM_KV_CACHE_NOT_EXIST"] == 0x5010B002
    assert members["LLM_NOT_YET_LINK"] == 0x5010B007
    assert members["LLM_FEATURE_NOT_ENABLED"] == 0x5010B019
    assert members["LLM_TIMEOUT"] == 0x5010B01A
    assert members["LLM_OUT_OF_MEMORY"] == 0x5010B01C
