"""Support code shared by tests (and, where they need it, benchmarks): no tests in here."""
