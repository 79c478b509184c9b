"""Conformance suite for the llm_datadist CacheManager API (placeholder)."""
