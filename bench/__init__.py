"""Benchmark suite for gradcalc: program generator, interpreter floor, peers, measurement."""
