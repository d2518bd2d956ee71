"""The one experiment runner: (dataset, method, hyper-parameters, fold, seed) -> tidy records.

Protocol (the paper's, made explicit):
- for every split the estimator is built afresh and ``fit`` sees the training rows only;
- test embeddings are computed per view (audio from audio, visual from visual), never from the
  partner modality, over the whole test fold (no dropped partial batch);
- every test clip is a query against the whole test fold of the other modality: A->V ranks the
  visual test embeddings for each audio query, V->A the reverse; cosine similarity by default;
- every metric comes from :func:`paper_lib.metrics.retrieval.retrieval_report` (MAP over the full
  ranking).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.methods.base import CrossModalEstimator
from paper_lib.methods.registry import get_method
from paper_lib.metrics.retrieval import retrieval_report
from paper_lib.metrics.similarity import similarity

DIRECTIONS = ("a2v", "v2a")
#: [choice] BLAS/OpenMP threads while fitting. Measured on the 2-core build machine with another
#: process busy: a Cluster-CCA fit on avdigits took 9.7 s with OpenBLAS's two threads and 0.17 s
#: with one; on an idle machine one thread costs at most the second core. Robustness wins.
BLAS_THREADS = 1
RECORD_COLUMNS = ["dataset", "method", "setting", "fold", "seed", "dim", "direction", "metric", "value"]


@dataclass
class SplitResult:
    """Embeddings and metrics of one (method, split, seed)."""

    method: str
    split: Split
    seed: int
    Z_audio: np.ndarray      # (n_test, d) audio test embeddings
    Z_visual: np.ndarray     # (n_test, d) visual test embeddings
    labels: np.ndarray       # (n_test,) test labels
    metrics: dict[str, dict[str, float]]   # direction -> metric name -> value
    fit_seconds: float
    peak_rss_mb: float
    estimator: CrossModalEstimator


class _PeakRSS:
    """Sample the process's resident memory in a thread; report the peak above the start (MB)."""

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self._proc = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self.start_rss = self.peak_rss = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak_rss = max(self.peak_rss, self._proc.memory_info().rss)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, self._proc.memory_info().rss)

    @property
    def peak_mb(self) -> float:
        return (self.peak_rss - self.start_rss) / 2**20


def _inputs(ds: PairedDataset, rows: np.ndarray, est: CrossModalEstimator
            ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The arrays a method consumes for the given rows (clip means, or sequences + lengths)."""
    if est.input_kind == "sequence":
        if not ds.has_sequences:
            raise ValueError(f"dataset {ds.name!r} has no per-second sequences, which method "
                             f"{type(est).__name__} needs")
        assert ds.audio_seq is not None and ds.visual_seq is not None and ds.seq_len is not None
        return ds.audio_seq[rows], ds.visual_seq[rows], {"lengths": ds.seq_len[rows]}
    return ds.audio[rows], ds.visual[rows], {}


def evaluate_split(ds: PairedDataset, method: str | CrossModalEstimator, split: Split, *,
                   seed: int = 0, dim: int = 10, epochs: int = 10, metric: str = "cosine",
                   hyper: dict[str, Any] | None = None) -> SplitResult:
    """Fit a fresh estimator on ``split.train``, embed ``split.test`` per view, score both ways."""
    if isinstance(method, str):
        name, est = method, get_method(method).build(dim, seed, epochs, **dict(hyper or {}))
    else:  # an unfitted estimator given directly (used by tests and notebooks)
        name, est = type(method).__name__, method
    Xa_tr, Xv_tr, kw_tr = _inputs(ds, split.train, est)
    Xa_te, Xv_te, kw_te = _inputs(ds, split.test, est)
    y_tr, y_te = ds.labels[split.train], ds.labels[split.test]
    t0 = time.perf_counter()
    with _PeakRSS() as mem, threadpool_limits(BLAS_THREADS):
        est.fit(Xa_tr, Xv_tr, y_tr, **kw_tr)
        Z_a = est.transform(X_audio=Xa_te, **kw_te)[0]    # audio embeddings from audio only
        Z_v = est.transform(X_visual=Xv_te, **kw_te)[1]   # visual embeddings from visual only
    seconds = time.perf_counter() - t0
    assert Z_a is not None and Z_v is not None
    S = similarity(Z_a, Z_v, metric)                      # (n_test, n_test): audio x visual
    metrics = {"a2v": retrieval_report(S, y_te, y_te),
               "v2a": retrieval_report(S.T, y_te, y_te)}
    return SplitResult(name, split, seed, Z_a, Z_v, y_te, metrics, seconds, mem.peak_mb, est)


def records(result: SplitResult, dataset: str, dim: int, setting: str = "") -> list[dict[str, Any]]:
    """Tidy rows: one per (method, fold, seed, direction, metric), plus time and memory."""
    base = {"dataset": dataset, "method": result.method, "setting": setting,
            "fold": result.split.fold, "seed": result.seed, "dim": dim}
    rows = [base | {"direction": d, "metric": m, "value": float(v)}
            for d, report in result.metrics.items() for m, v in report.items()]
    rows.append(base | {"direction": "fit", "metric": "wall_time_s", "value": result.fit_seconds})
    rows.append(base | {"direction": "fit", "metric": "peak_rss_mb", "value": result.peak_rss_mb})
    return rows


@dataclass(frozen=True)
class Config:
    """One cell of an experiment grid: a method with its hyper-parameters.

    ``setting`` labels the cell in the records (e.g. ``margin=0.3`` in an ablation).
    """

    method: str
    dim: int = 10
    epochs: int = 10
    hyper: dict[str, Any] = field(default_factory=dict)
    setting: str = ""


def run_configs(ds: PairedDataset, configs: Sequence[Config], *,
                folds: Iterable[int] | None = None, seeds: Sequence[int] = (0,),
                cache: bool = False, log: Callable[[str], None] | None = None
                ) -> tuple[pd.DataFrame, list[SplitResult]]:
    """Every config x split x seed -> (tidy records with :data:`RECORD_COLUMNS`, results).

    With ``cache=True`` a split already evaluated with identical inputs is read back
    (:mod:`paper_lib.experiment_cache`) instead of refitted.
    """
    for c in configs:
        get_method(c.method)  # unknown names fail before any training
    fold_list = None if folds is None else list(folds)
    rows: list[dict[str, Any]] = []
    results: list[SplitResult] = []
    for c in configs:
        for split in ds.splits(fold_list):
            for seed in seeds:
                if cache:
                    from paper_lib.experiment_cache import evaluate_split_cached
                    res = evaluate_split_cached(ds, c.method, split, seed=seed, dim=c.dim,
                                                epochs=c.epochs, hyper=c.hyper)
                else:
                    res = evaluate_split(ds, c.method, split, seed=seed, dim=c.dim,
                                         epochs=c.epochs, hyper=c.hyper)
                rows += records(res, ds.name, c.dim, c.setting)
                results.append(res)
                if log:
                    log(f"{c.method} {c.setting} {split.name} seed={seed}: MAP a2v "
                        f"{res.metrics['a2v']['map']:.4f} v2a {res.metrics['v2a']['map']:.4f} "
                        f"({res.fit_seconds:.1f} s)")
    return pd.DataFrame(rows, columns=RECORD_COLUMNS), results


def cross_validate(ds: PairedDataset, methods: Sequence[str], *, folds: Iterable[int] | None = None,
                   seeds: Sequence[int] = (0,), dim: int = 10, epochs: int = 10,
                   hyper: dict[str, dict[str, Any]] | None = None, cache: bool = False,
                   log: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Every method x split x seed; a tidy frame with :data:`RECORD_COLUMNS`."""
    configs = [Config(m, dim, epochs, dict((hyper or {}).get(m, {}))) for m in methods]
    return run_configs(ds, configs, folds=folds, seeds=seeds, cache=cache, log=log)[0]


def summarise(df: pd.DataFrame, metric: str = "map") -> pd.DataFrame:
    """Mean and standard deviation (over folds and seeds) per method, setting and direction."""
    sub = df[(df["metric"] == metric) & df["direction"].isin(DIRECTIONS)]
    out = (sub.groupby(["method", "setting", "direction"], sort=False)["value"]
           .agg(mean="mean", std=lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else 0.0,
                n="count").reset_index())
    return out
