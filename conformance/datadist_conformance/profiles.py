"""The suite's hypothesis profiles: how many examples and steps a run of each profile draws.

Their own module (not the pytest plugin's) so that the CLI can list and validate profile names
without importing the plugin, and so that the plugin does nothing with hypothesis at import time
beyond what this module registers. A profile is registered as ``datadist-NAME``; the plugin loads
it for a run of the suite only (see :func:`load`).
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

PROFILES = {
    # quick: the project's own CI; ci: certifying one line in about a minute; thorough: nightly.
    "quick": settings(max_examples=8, stateful_step_count=40),
    "ci": settings(max_examples=100, stateful_step_count=40),
    "thorough": settings(max_examples=1000, stateful_step_count=100),
}
_COMMON = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    # filter_too_much stays on: it guards against properties that check almost nothing.
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


def registered_name(name: str) -> str:
    """The name a profile of :data:`PROFILES` is registered under in hypothesis."""
    return f"datadist-{name}"


def load_profile(name: str) -> None:
    """Make profile `name` of :data:`PROFILES` hypothesis' current settings (a KeyError if unknown)."""
    settings.load_profile(registered_name(name))


for _name, _settings in PROFILES.items():
    settings.register_profile(registered_name(_name), _settings, **_COMMON)
