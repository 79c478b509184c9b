"""One test per clause of the spec, generated from its kind's template.

Example templates run once; property templates run under hypothesis with
``st.data()``. Informative clauses (kind ``informative``) have no test.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datadist_conformance.context import SuiteContext
from datadist_conformance.recorder import Recorder
from datadist_conformance.speclib import load_spec
from datadist_conformance.suite.gate import TEMPLATES, run_clause

SPEC = load_spec()


def _clause_params(property_templates: bool) -> list[Any]:
    params = []
    for clause in SPEC.clauses():
        kind = SPEC.clause_kind(clause.kind)
        if not kind.testable or TEMPLATES[clause.kind].uses_hypothesis != property_templates:
            continue
        family = TEMPLATES[clause.kind].family
        marks = [pytest.mark.clause(clause.id), pytest.mark.family(family)]
        params.append(pytest.param(clause.id, id=clause.id, marks=marks))
    # An empty list would make pytest skip the test silently: a suite that checks nothing.
    which = "property" if property_templates else "example"
    assert params, f"no clause of the spec has an {which} template: the suite would check nothing"
    return params


@pytest.mark.parametrize("clause_id", _clause_params(property_templates=False))
def test_clause(clause_id: str, suite_context: SuiteContext, recorder: Recorder) -> None:
    run_clause(suite_context, recorder, clause_id, None)


@pytest.mark.parametrize("clause_id", _clause_params(property_templates=True))
# The recorder is shared by every example of the test on purpose: it counts them.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_clause_property(
    clause_id: str, suite_context: SuiteContext, recorder: Recorder, data: st.DataObject
) -> None:
    run_clause(suite_context, recorder, clause_id, data)
