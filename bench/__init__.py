"""The benchmark: servers under test, the load generator, the phases and the report."""
