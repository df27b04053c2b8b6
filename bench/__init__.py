"""Benchmarks: each prints its figures and the ratio against a naive baseline measured in the same run."""
