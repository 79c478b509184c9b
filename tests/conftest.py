"""Shared configuration of the project's own tests: hypothesis profiles."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# quick: every CI run; thorough: nightly or on demand (HYPOTHESIS_PROFILE=thorough).
settings.register_profile("quick", max_examples=25, deadline=None)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
# fuzz: long runs of the stateful harnesses on demand (HYPOTHESIS_PROFILE=fuzz), e.g. before a
# release or after a change to the core; see tests/impl/test_fuzz_public_api.py.
settings.register_profile(
    "fuzz",
    max_examples=2000,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))

# The reference's engines in these tests link within this process and reuse fixed loopback
# addresses, so by default they open no sockets; tests/remote names its transport explicitly.
os.environ.setdefault("LLM_DATADIST_REF_TRANSPORT", "in-process")
