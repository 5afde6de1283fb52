"""Benchmarks: `python -m bench.<area>` prints figures and ratios against a named peer."""
