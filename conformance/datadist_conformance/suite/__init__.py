"""The conformance suite's test modules, collected by pytest (see the plugin)."""
