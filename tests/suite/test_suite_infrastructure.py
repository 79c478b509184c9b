"""The suite's own machinery: templates, traceability, wrong-value catalogue, transcripts."""

from __future__ import annotations

import ast
import enum
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from datadist_conformance.context import SuiteContext
from datadist_conformance.coverage import collect_tests, coverage
from datadist_conformance.expectations import ExpectationError, load_expectations
from datadist_conformance.harness import Scenario
from datadist_conformance.speclib import load_spec
from datadist_conformance.strategies import wrong_values
from datadist_conformance.target import load_target
from datadist_conformance.templates import load_all
from datadist_conformance.transcript import LiveFile, Transcript
from datadist_conformance.typecheck import admits

SPEC = load_spec()


def test_every_testable_kind_has_exactly_one_template() -> None:
    templates = load_all()
    testable = {kind.id for kind in SPEC.clause_kinds if kind.testable}
    assert set(templates) == testable


def test_every_clause_is_traced_to_a_test() -> None:
    report = coverage(SPEC, collect_tests())
    assert report.untested == [], f"clauses without a test: {report.untested}"
    assert report.unknown == {}, f"tests naming clauses the spec lacks: {report.unknown}"
    assert set(report.informative) == {
        "allocate_cache.refs.key_release_ways",
        "swap_blocks.threads",
        "swap_blocks.staging_buffer",
    }


def test_coverage_reports_an_untested_clause_and_an_unknown_one() -> None:
    tests = collect_tests()
    first = next(iter(tests))
    clause = tests[first]["clauses"][0]  # type: ignore[index]
    pruned = {k: v for k, v in tests.items() if clause not in v["clauses"]}  # type: ignore[operator]
    pruned["test_made_up"] = {"clauses": ["no_such.clause"], "family": "surface"}
    report = coverage(SPEC, pruned)
    assert clause in report.untested
    assert report.unknown == {"test_made_up": ["no_such.clause"]}
    assert not report.ok


@pytest.fixture(scope="module")
def context() -> SuiteContext:
    return SuiteContext(
        target=load_target("llm_datadist_ref"),
        spec=SPEC,
        product_id="atlas-a3",
        profile="quick",
        seed=1,
    )


def test_wrong_values_are_never_values_the_type_admits(context: SuiteContext) -> None:
    with Scenario(context) as scenario:
        for api in SPEC.apis:
            for param in api.signature.params if api.signature else ():
                candidates = wrong_values(scenario, param)
                assert candidates, f"{api.id}.{param.name} gets no wrong values"
                for label, value in candidates:
                    verdict = admits(value, param.type, scenario.m, lenient_sequences=True)
                    assert verdict is False, (
                        f"{api.id}.{param.name}: {label} is admitted by {param.type}"
                    )
                    assert not isinstance(value, bool), "bool is never used as a wrong int"


def test_wrong_values_respect_the_documented_none_default(context: SuiteContext) -> None:
    with Scenario(context) as scenario:
        param = SPEC.api("CacheManager.copy_cache").signature.params[-1]  # type: ignore[union-attr]
        assert param.name == "req_id"
        assert all(value is not None for _, value in wrong_values(scenario, param))


def test_transcript_renders_names_literals_and_aliases() -> None:
    class Colour(enum.IntEnum):
        RED = 1

    transcript = Transcript("m")
    thing = object()
    transcript.bind(thing, "v1")
    transcript.bind(1 << 40, "buf.address")
    assert transcript.render([thing, 3, "x", None]) == "[v1, 3, 'x', None]"
    assert transcript.render({1: (thing,)}) == "{1: (v1,)}"
    assert transcript.render(1 << 40) == "buf.address"
    assert transcript.render(7) == "7"
    assert transcript.render(Colour.RED) == "m.Colour.RED"


def test_transcript_records_calls_and_failures() -> None:
    transcript = Transcript("m")
    result = transcript.invoke("m.make", lambda a, b=0: [a, b], (1,), {"b": 2})
    assert result == [1, 2]
    with pytest.raises(ZeroDivisionError):
        transcript.invoke("m.divide", lambda: 1 / 0)
    assert transcript.lines[0] == "m.make(1, b=2)  # -> [1, 2]"
    # a call that raised runs inside replay.raised, so that a replay goes on past it
    assert transcript.lines[1].startswith("with replay.raised('ZeroDivisionError'):  # division")
    assert transcript.lines[2] == "    m.divide()"


def test_the_live_transcript_holds_the_call_in_progress(tmp_path: Path) -> None:
    """What the runner makes the replay of a test whose process died inside a call."""
    live = LiveFile(str(tmp_path / "live"))
    transcript = Transcript("m", "# header", live)
    seen: list[str] = []
    transcript.invoke("m.make", lambda: seen.append((tmp_path / "live").read_text()))
    assert seen == ["# header\nm.make()  # in progress when the test process died\n"]
    with pytest.raises(ZeroDivisionError):
        transcript.invoke("m.divide", lambda: 1 / 0)
    live.close()
    assert (tmp_path / "live").read_text() == transcript.source()


def test_transcript_renders_sets_classes_and_unrenderable_values_as_source() -> None:
    class Thing:
        pass

    module = type("M", (), {"Thing": Thing})
    transcript = Transcript("m")
    transcript.module = module
    assert transcript.render({2, 1}) == "{1, 2}"
    assert transcript.render(frozenset()) == "frozenset()"
    assert transcript.render(Thing) == "m.Thing"
    assert transcript.render(int) == "int"
    assert transcript.render(object()) == "object()"
    shown = transcript.render(Thing())
    assert shown.startswith("replay.unreproducible('<"), shown
    compile(shown, "<replay>", "eval")  # valid source, never a comment inside a call


def test_a_replay_snippet_runs_on_its_own(
    context: SuiteContext, tmp_path: pytest.TempPathFactory
) -> None:
    """The transcript of a scenario is a program that reproduces it against the target."""
    with Scenario(context) as scenario:
        engine = scenario.engines.start()
        cache = scenario.caches.allocate(
            engine, scenario.layout(1, (2, 8)), [scenario.key(engine.cluster_id, 5)]
        )
        scenario.caches.fill(cache, 3)
        scenario.t.add(
            f"assert adapter.read({scenario.t.render(cache.raw)}, 0, 0, 16) == replay.pattern(3 * 1009, 16)"
        )
        source = scenario.t.source()
    completed = subprocess.run(
        [sys.executable, "-c", source], capture_output=True, text=True, timeout=120, check=False
    )
    assert completed.returncode == 0, f"{source}\n{completed.stderr}"


def test_every_failure_of_the_suite_ends_its_replay_with_a_check() -> None:
    """Each place that fails a clause gives the replay a condition (``replay=``) or has made the
    failed call the replay's check (``replayed=True``), so no replay ends not knowing."""
    package = Path(__file__).parents[2] / "conformance" / "datadist_conformance"
    blind = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in {"check", "fail"} or "checker" not in ast.unparse(node.func):
                continue
            given = {k.arg for k in node.keywords}
            if not given & {"replay", "replayed"}:
                blind.append(f"{path.relative_to(package)}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert not blind, "failures whose replay cannot tell:\n" + "\n".join(blind)


def test_expectation_files_are_validated(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "expect.yaml"  # type: ignore[operator]
    path.write_text(
        yaml.safe_dump({"expectations": [{"clause": "copy_cache.bounds", "reason": "known"}]})
    )
    (entry,) = load_expectations(path)
    assert entry.matches("test_clause[copy_cache.bounds]", ["copy_cache.bounds"], "atlas-a3")
    assert not entry.matches("test_clause[copy_cache.copies]", ["copy_cache.copies"], "atlas-a3")
    for bad in (
        {"expectations": [{"clause": "x.y"}]},  # no reason
        {"expectations": [{"clause": "x.y", "test": "t", "reason": "r"}]},  # both
        {"expectations": [{"clause": "x.y", "reason": "r", "colour": "red"}]},
        {"expectations": [{"clause": "x.y", "reason": "r", "products": "atlas-a3"}]},
        ["not", "a", "mapping"],
    ):
        path.write_text(yaml.safe_dump(bad))
        with pytest.raises(ExpectationError):
            load_expectations(path)


def test_shrinking_is_bounded_within_the_per_test_limit() -> None:
    from hypothesis.internal.conjecture import engine

    from datadist_conformance.pytest_plugin import bound_shrinking

    original = engine.MAX_SHRINKING_SECONDS
    try:
        assert bound_shrinking(300.0) == 60 == engine.MAX_SHRINKING_SECONDS
        assert bound_shrinking(8.0) == 2 == engine.MAX_SHRINKING_SECONDS
        assert original >= 300, "hypothesis' own bound changed: revisit bound_shrinking"
    finally:
        engine.MAX_SHRINKING_SECONDS = original
