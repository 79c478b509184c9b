"""Surface: names, signatures, properties, enum members, return types, optional arguments."""

from __future__ import annotations

import inspect
from typing import Any

from .. import signatures
from ..checks import untestable
from ..harness import Scenario
from ..recipes import RECIPES, recipe_for
from ..speclib import Api, Clause, Param, parse
from ..typecheck import admits
from . import template

_MISSING = object()


def _receiver(s: Scenario, api: Api) -> Any:
    """An object on which the entry can be looked up, as users would hold it."""
    owner = api.owner
    if owner == "CacheManager":
        return s.engines.start().cache_manager
    if owner == "LLMDataDist":
        if api.kind == "property":  # cache_manager exists once the engine is initialised
            return s.engines.start().datadist
        return s.new("LLMDataDist", s.enum("LLMRole", "PROMPT"), 99)
    if owner in {"LLMConfig", "LLMClusterInfo"}:
        return s.new(owner)
    return getattr(s.m, owner) if owner else s.m


def _checked_params(api: Api, clause: Clause) -> tuple[Param, ...]:
    """The documented parameters the clause checks: all, or the leading ones it names."""
    assert api.signature is not None
    only = clause.params.get("only")
    if only is None:
        return api.signature.params
    checked = api.signature.params[: len(only)]
    assert [p.name for p in checked] == list(only), f"{clause.id}: 'only' names leading params"
    return checked


def _compare_parameters(
    s: Scenario, api: Api, where: str, callable_: Any, checked: tuple[Param, ...]
) -> None:
    """The target's parameters are the documented ones; with a partial ``checked`` list, they
    start with those and any further parameter is optional. ``where`` is ``callable_`` as the
    snippet names it."""
    assert api.signature is not None
    exact = checked == api.signature.params
    try:
        signature = inspect.signature(callable_)
        positional = signatures.parameters(callable_)
    except (TypeError, ValueError):
        untestable(f"{where} has no introspectable signature (inspect.signature failed)")
    names = [p.name for p in checked]
    s.checker.check(
        signatures.parameters_match(callable_, names, exact),
        call=f"inspect.signature({where})",
        expected=f"parameters {names}" + ("" if exact else ", then only optional ones"),
        observed=f"parameters {[p.name for p in positional]} (signature {signature})",
        replay=f"replay.parameters_match({where}, {names!r}, {exact})",
    )
    if api.signature.var_keyword and exact:
        s.checker.check(
            signatures.has_var_keyword(callable_),
            call=f"inspect.signature({where})",
            expected="a **kwargs parameter",
            observed=str(signature),
            replay=f"replay.has_var_keyword({where})",
        )
    for position, (spec_param, actual) in enumerate(zip(checked, positional, strict=False)):
        _compare_default(s, where, callable_, position, spec_param, actual)


def _compare_default(
    s: Scenario,
    where: str,
    callable_: Any,
    position: int,
    spec_param: Param,
    actual: inspect.Parameter,
) -> None:
    call = f"inspect.signature({where})"
    if spec_param.required:
        s.checker.check(
            signatures.required(callable_, position),
            call=call,
            expected=f"{spec_param.name} is required",
            observed=f"{spec_param.name} defaults to {actual.default!r}",
            replay=f"replay.required({where}, {position})",
        )
        return
    assert spec_param.default is not None
    shown = "(none)" if actual.default is inspect.Parameter.empty else repr(actual.default)
    s.checker.check(
        signatures.defaults_to(callable_, position, spec_param.default, s.m),
        call=call,
        expected=f"{spec_param.name} defaults to {spec_param.default}",
        observed=f"{spec_param.name} default is {shown}",
        replay=f"replay.defaults_to({where}, {position}, {spec_param.default!r}, m)",
    )


def _constructor_args(s: Scenario, api: Api, checked: tuple[Param, ...]) -> dict[str, Any]:
    names = [p.name for p in checked]
    if api.id in RECIPES:
        return {k: v for k, v in recipe_for(api.id)(s).args.items() if k in names}
    assert api.signature is not None
    args = {}
    for number, param in enumerate(api.signature.params, start=1):
        if param.type.python_name != "int":
            raise AssertionError(f"no recipe for {api.id} and {param.name} is not an int")
        args[param.name] = number
    return args


def _check_properties(s: Scenario, api: Api, instance: Any, given: dict[str, Any]) -> None:
    for prop in api.properties:
        value: Any = getattr(instance, prop.name, _MISSING)
        read = f"{s.t.render(instance)}.{prop.name}"
        s.checker.check(
            value is not _MISSING,
            call=read,
            expected=f"{api.name} has a property {prop.name}",
            observed="no such attribute",
            replay=f"hasattr({s.t.render(instance)}, {prop.name!r})",
        )
        if prop.name in given:
            wanted = given[prop.name]
            if isinstance(wanted, list):
                same, condition = list(value) == wanted, f"list({read}) == {s.t.render(wanted)}"
            else:
                same, condition = value == wanted, f"{read} == {s.t.render(wanted)}"
            s.checker.check(
                same,
                call=read,
                expected=f"{wanted!r} (the value passed to the constructor)",
                observed=repr(value),
                replay=condition,
            )


def _class_surface(s: Scenario, api: Api, clause: Clause) -> None:
    cls = getattr(s.m, api.name)
    if api.name == "Cache":  # never constructed by users: get one as they do
        call = recipe_for("Cache.create_cpu_cache")(s)
        instance = s.checker.expect_ok(s.m.Cache, "create_cpu_cache", *call.args.values())
        _check_properties(s, api, instance, {})
        return
    assert api.signature is not None
    checked = _checked_params(api, clause)
    args = _constructor_args(s, api, checked)
    # A partial clause (params.only) checks how the seed's examples build the class, not the
    # vendor's properties.
    check_properties = checked == api.signature.params
    parameters = inspect.signature(cls).parameters.values()
    instances = []
    if any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
        # Documented as __init__(*args, **kwargs) with a parameter table: check both spellings.
        instances.append(s.t.invoke(f"m.{api.name}", cls, tuple(args.values())))
        instances.append(s.t.invoke(f"m.{api.name}", cls, (), args))
    else:
        _compare_parameters(s, api, f"m.{api.name}", cls, checked)
        instances.append(s.t.invoke(f"m.{api.name}", cls, tuple(args.values())))
    for instance in instances if check_properties else ():
        _check_properties(s, api, instance, args)


@template("signature", family="surface")
def signature(s: Scenario, clause: Clause, data: Any) -> None:
    api = s.ctx.spec.api(clause.api_id)
    if api.kind == "class":
        s.checker.check(
            hasattr(s.m, api.name),
            call=f"m.{api.name}",
            expected="the class exists",
            observed="missing",
            replay=f"hasattr(m, {api.name!r})",
        )
        _class_surface(s, api, clause)
        return
    receiver = _receiver(s, api)
    member = getattr(receiver, api.name, _MISSING)
    where = f"{s.t.render(receiver)}.{api.name}"
    s.checker.check(
        member is not _MISSING,
        call=where,
        expected=f"{api.id} exists",
        observed="no such attribute",
        replay=f"hasattr({s.t.render(receiver)}, {api.name!r})",
    )
    if api.kind == "config_option":
        value = '{"memory_size": 1048576, "page_shift": 16}'
        s.checker.expect_set(receiver, api.name, value)
        s.checker.check(
            getattr(receiver, api.name) == value,
            call=where,
            expected=f"reads back {value!r}",
            observed=repr(getattr(receiver, api.name)),
            replay=f"{where} == {value!r}",
        )
        return
    if api.kind == "property":
        methods = sorted(
            a.name for a in s.ctx.spec.apis if a.owner == "CacheManager" and a.kind == "method"
        )
        missing = [name for name in methods if not callable(getattr(member, name, None))]
        s.checker.check(
            not missing,
            call=where,
            expected=f"an object with {methods}",
            observed=f"missing {missing}",
            replay=f"all(callable(getattr({where}, name, None)) for name in {methods!r})",
        )
        return
    s.checker.check(
        callable(member),
        call=where,
        expected="a callable",
        observed=repr(member),
        replay=f"callable({where})",
    )
    _compare_parameters(s, api, where, member, _checked_params(api, clause))


@template("enum_values", family="surface")
def enum_values(s: Scenario, clause: Clause, data: Any) -> None:
    api = s.ctx.spec.api(clause.api_id)
    enum = getattr(s.m, api.name, _MISSING)
    s.checker.check(
        enum is not _MISSING,
        call=f"m.{api.name}",
        expected="the enum exists",
        observed="missing",
        replay=f"hasattr(m, {api.name!r})",
    )
    for member in api.members:
        value = getattr(enum, member.name, _MISSING)
        s.checker.check(
            value is not _MISSING,
            call=f"m.{api.name}.{member.name}",
            expected="the member exists",
            observed="missing",
            replay=f"hasattr(m.{api.name}, {member.name!r})",
        )
        if member.value is not None:
            actual = getattr(value, "value", value)
            s.checker.check(
                actual == member.value,
                call=f"m.{api.name}.{member.name}",
                expected=f"value {member.value}",
                observed=f"value {actual!r}",
                replay=f"getattr(m.{api.name}.{member.name}, 'value', "
                f"m.{api.name}.{member.name}) == {member.value!r}",
            )


@template("exception_status_code", family="surface")
def exception_status_code(s: Scenario, clause: Clause, data: Any) -> None:
    code = s.enum("LLMStatusCode", "LLM_PARAM_INVALID")
    exc = s.checker.expect_ok(s.m, "LLMException", "invalid", status_code=code)
    s.checker.check(
        isinstance(exc, RuntimeError),
        call="m.LLMException",
        expected="a RuntimeError subclass",
        observed=repr(type(exc).__mro__),
        replay=f"isinstance({s.t.render(exc)}, RuntimeError)",
    )
    observed = getattr(exc, "status_code", _MISSING)
    s.checker.check(
        observed == code,
        call=f"{s.t.render(exc)}.status_code",
        expected=repr(code),
        observed=repr(observed),
        replay=f"getattr({s.t.render(exc)}, 'status_code', None) == {s.t.render(code)}",
    )
    s.checker.check(
        isinstance(observed, s.m.LLMStatusCode),
        call=f"{s.t.render(exc)}.status_code",
        expected="an LLMStatusCode",
        observed=repr(type(observed)),
        replay=f"isinstance(getattr({s.t.render(exc)}, 'status_code', None), m.LLMStatusCode)",
    )


@template("returns_instance", family="surface")
def returns_instance(s: Scenario, clause: Clause, data: Any) -> None:
    call = recipe_for(clause.api_id)(s)
    result = call.expect_ok(s)
    expected_type = parse(clause.params["type"])
    ok = admits(result, expected_type, s.m) is True
    if not ok:  # the replay names what the call returns, and checks it
        s.t.replace_last(f"returned = {s.t.last_call[1]}")
    s.checker.check(
        ok,
        call=call.describe(s),
        expected=f"returns a {expected_type}",
        observed=f"returned {result!r} ({type(result).__name__})",
        replay=f"replay.admits(returned, {clause.params['type']!r}, m)",
    )


@template("optional_argument", family="surface")
def optional_argument(s: Scenario, clause: Clause, data: Any) -> None:
    name = clause.params["param"]
    for variant in ("omitted", "None"):
        call = recipe_for(clause.api_id)(s)
        names = list(call.args)
        assert names[-1] == name, "optional_argument supports a trailing parameter"
        args = dict(call.args)
        if variant == "omitted":
            del args[name]
        else:
            args[name] = None
        call.expect_ok(s, args)
