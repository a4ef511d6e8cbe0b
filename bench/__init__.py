"""Benchmarks: answer quality and speed, each against a baseline run in the same command."""
