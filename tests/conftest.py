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
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))
