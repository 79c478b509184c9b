"""Reference implementation of the llm_datadist CacheManager API (placeholder)."""
