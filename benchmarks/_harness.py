"""Shared measuring rules of the benchmarks: one timing rule, one memory rule, one CSV layout."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import threading
import time
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paper_lib import atomic, paths
from paper_lib.engine import available_cores
from paper_lib.report.performance import growth_slope

__all__ = ["Measurement", "growth_slope", "machine", "measure", "write_csv"]


@dataclass(frozen=True)
class Measurement:
    """Wall times of the repetitions (after the warm-up) and the peak memory of one call."""

    seconds: tuple[float, ...]
    peak_mb: float

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class _RssPeak:
    """Samples the resident set size every millisecond in a thread: the peak above the start
    (catches torch and BLAS buffers, which tracemalloc does not see)."""

    def __init__(self) -> None:
        self.start = _rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.001)

    def __enter__(self) -> _RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mb())


def measure(fn: Callable[[], Any], *, repeats: int = 5, warmup: int = 1) -> Measurement:
    """Call ``fn`` ``warmup`` times unmeasured, then ``repeats`` times timed; the peak memory is
    that of one extra call: the larger of the Python/numpy allocations traced by ``tracemalloc``
    and the growth of the resident set (torch, BLAS)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    gc.collect()
    tracemalloc.start()
    with _RssPeak() as rss:
        fn()
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    peak = max(traced_peak / 2**20, rss.peak - rss.start)
    return Measurement(tuple(times), peak)


def machine() -> dict[str, Any]:
    """The facts a reader needs to compare our numbers with theirs."""
    from threadpoolctl import threadpool_info

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover - not Linux
        pass
    blas = ", ".join(f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                     for i in threadpool_info())
    import torch

    return {"cpu": cpu, "cores_available": available_cores(), "python": platform.python_version(),
            "numpy": np.__version__, "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(), "blas": blas}


def write_csv(question: str, rows: Sequence[dict[str, Any]]) -> Path:
    """Write ``results/bench_<question>.csv`` (every row also carries the machine's details)
    atomically; return its path."""
    facts = machine()
    df = pd.DataFrame([{**row, **{f"machine_{k}": v for k, v in facts.items()}} for row in rows])
    path = paths.results_dir() / f"bench_{question}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(path, df.to_csv(index=False))
    return path
