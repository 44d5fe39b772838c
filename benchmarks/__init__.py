"""Benchmarks (not tests): throughput, latency, training time and memory on this machine."""
