"""Benchmarks: what users feel and what it costs. `python -m bench` runs every `bench/bench_*.py`."""
