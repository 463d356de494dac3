"""Synthetic sample data (a province, a national directory) for `egov demo`, the tests and the benchmarks."""
