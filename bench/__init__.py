"""Benchmarks: bootstrap against docker compose, pair by pair, reported as ratios."""
