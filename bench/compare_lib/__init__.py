"""Helpers of ``bench/compare``: workloads, timed runs, prerequisites, SAM and the report."""
