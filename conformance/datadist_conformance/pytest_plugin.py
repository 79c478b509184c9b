"""pytest plugin of the conformance suite (registered through the pytest11 entry point).

It stays inert unless the suite itself is being run.
"""

from __future__ import annotations
