"""The type grammar: every type expression of the seed round-trips; malformed ones are refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datadist_conformance.speclib import TypeExpr, TypeExprError, load_spec, parse

SEED_TABLE_ROW = re.compile(r"^\| (\w+) \| ([^|]+?) \|", re.M)


def seed_type_expressions(seed_text: str) -> set[str]:
    """Type expressions of the seed's parameter tables and prototypes."""
    found = set()
    for name, type_text in SEED_TABLE_ROW.findall(seed_text):
        if name not in {"参数名称", "配置项", "产品"} and type_text not in {"必选", "可选"}:
            found.add(type_text.strip())
    for prototype in re.findall(r"```\n(\w+\(.*?\))\n```", seed_text, re.S):
        for param in _split_top_level(prototype[prototype.index("(") + 1 : -1]):
            head = param.partition("=")[0]
            if ":" in head:
                found.add(head.partition(":")[2].strip())
    return found


def _split_top_level(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += (char == "[") - (char == "]")
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def test_seed_has_the_expected_type_expressions(seed_text: str) -> None:
    assert seed_type_expressions(seed_text) == {
        "CacheDesc",
        "Union[Tuple[CacheKey], List[CacheKey]]",
        "Cache",
        "CacheKey",
        "int",
        "Optional[int]",
        "Optional[BlocksCacheKey]",
        "Dict[int, List[int]]",
        "Dict[int, int]",
        "string",
    }


def test_every_seed_type_expression_round_trips(seed_text: str) -> None:
    for text in seed_type_expressions(seed_text):
        assert str(parse(text)) == text


def test_every_spec_type_expression_parses_and_round_trips() -> None:
    for api in load_spec().apis:
        for param in api.signature.params if api.signature else ():
            assert parse(str(param.type)) == param.type
            assert str(param.type) == param.type_text.replace(",", ", ").replace(",  ", ", ")


def test_structure() -> None:
    expr = parse("Union[Tuple[CacheKey], List[CacheKey]]")
    assert expr == TypeExpr(
        "Union",
        (TypeExpr("Tuple", (TypeExpr("CacheKey"),)), TypeExpr("List", (TypeExpr("CacheKey"),))),
    )
    assert [str(a) for a in parse("Optional[int]").alternatives()] == ["int", "None"]
    assert parse("Optional[BlocksCacheKey]").admits_none()
    assert not parse("Dict[int, List[int]]").admits_none()
    assert parse("string").python_name == "str"
    assert parse("Dict[int, List[int]]").names() == {"Dict", "int", "List"}


def test_spacing_is_normalised() -> None:
    assert (
        str(parse("Union[CacheKey,CacheKeyByIdAndIndex]"))
        == "Union[CacheKey, CacheKeyByIdAndIndex]"
    )
    assert parse(" Dict[ int ,int ] ") == parse("Dict[int, int]")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty type expression"),
        ("List[", "unclosed '['"),
        ("List[int", "unclosed '['"),
        ("int]", "unexpected ']'"),
        ("Foo[int]", "Foo is not a generic"),
        ("List[int, int]", "List takes 1 argument"),
        ("Dict[int]", "Dict takes 2 argument"),
        ("Optional", "Optional needs arguments"),
        ("List[]", "expected a type name"),
        ("List[int;str]", "unexpected character ';'"),
        ("Dict[int int]", "expected ',' or ']'"),
    ],
)
def test_malformed_expressions_are_refused(text: str, message: str) -> None:
    with pytest.raises(TypeExprError, match=re.escape(message)):
        parse(text)


NAMES = st.sampled_from(["int", "str", "None", "CacheKey", "Cache", "llm.Placement"])


def type_exprs() -> st.SearchStrategy[TypeExpr]:
    def extend(inner: st.SearchStrategy[TypeExpr]) -> st.SearchStrategy[TypeExpr]:
        return st.one_of(
            st.builds(lambda a: TypeExpr("List", (a,)), inner),
            st.builds(lambda a: TypeExpr("Optional", (a,)), inner),
            st.builds(lambda a, b: TypeExpr("Dict", (a, b)), inner, inner),
            st.lists(inner, min_size=1, max_size=3).map(
                lambda args: TypeExpr("Union", tuple(args))
            ),
            st.lists(inner, min_size=1, max_size=3).map(
                lambda args: TypeExpr("Tuple", tuple(args))
            ),
        )

    return st.recursive(NAMES.map(TypeExpr), extend, max_leaves=8)


@given(expr=type_exprs())
def test_print_then_parse_is_identity(expr: TypeExpr) -> None:
    assert parse(str(expr)) == expr
