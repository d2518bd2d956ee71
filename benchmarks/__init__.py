"""Benchmarks behind the Performance chapter: one script per question (``make bench``).

Each script runs every compared implementation on the same generated data in the same process
(warm-up, then repetitions; median wall time and peak memory) and writes
``results/bench_<question>.csv`` plus the machine's details beside it. Run one with
``python -m benchmarks.bench_<question>`` from the repository root.
"""
