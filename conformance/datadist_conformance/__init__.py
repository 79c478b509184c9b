"""Conformance suite for the llm_datadist CacheManager API, generated from the spec in spec/.

Run it with ``datadist-conformance run --impl MODULE --product ID``; see README.md.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
