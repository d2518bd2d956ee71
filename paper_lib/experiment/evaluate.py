"""Evaluate one split: fit a fresh estimator on the training rows, embed the test rows, score.

Protocol (the paper's, made explicit):

- for every split the estimator is built afresh and ``fit`` sees the training rows only;
- test embeddings are computed per view (audio from audio, visual from visual), never from the
  partner modality, over the whole test fold (no dropped partial batch);
- every test clip is a query against the whole test fold of the other modality: A->V ranks the
  visual test embeddings for each audio query, V->A the reverse (:mod:`paper_lib.metrics.cross_modal`);
  cosine similarity by default, the Hamming distance for a hashing method's binary codes (the
  estimator's ``retrieval_metric`` overrides the run's ``metric``, and the result records it);
- every metric comes from :func:`paper_lib.metrics.retrieval.retrieval_report` (MAP over the full
  ranking).

Thread counts are the caller's: entry points apply :mod:`paper_lib.threads` once per process.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pandas as pd

from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.errors import UserError
from paper_lib.experiment.result import SplitResult
from paper_lib.methods.base import CrossModalEstimator
from paper_lib.methods.registry import get_method
from paper_lib.metrics.cross_modal import DIRECTIONS, audio_visual_scores, check_metric
from paper_lib.metrics.retrieval import retrieval_report

#: the columns of the tidy records (one row per fit, direction and metric)
RECORD_COLUMNS = ["dataset", "method", "setting", "fold", "seed", "dim", "direction", "metric",
                  "value"]
#: the records' metrics that measure this run on this machine (a fit's wall time and memory)
#: rather than the method: they differ between two runs of the same code on the same data
VOLATILE_METRICS = ("wall_time_s", "peak_rss_mb")
#: summary columns computed from them (e.g. an ablation's mean fit time per cell)
VOLATILE_COLUMNS = ("fit_s",)


def split_volatile(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``table`` without its measurements of this machine (rows whose ``metric`` is one of
    :data:`VOLATILE_METRICS`, columns of :data:`VOLATILE_COLUMNS`), and those measurements, so
    that a result file is the same in every run of the same code on the same data.

    Examples
    --------
    >>> t = pd.DataFrame({"method": ["cca"] * 3, "metric": ["map", "wall_time_s", "peak_rss_mb"],
    ...                   "value": [0.5, 1.2, 30.0]})
    >>> stable, volatile = split_volatile(t)
    >>> stable["metric"].tolist(), volatile["metric"].tolist()
    (['map'], ['wall_time_s', 'peak_rss_mb'])
    """
    rows = (table["metric"].isin(VOLATILE_METRICS) if "metric" in table.columns
            else pd.Series(False, index=table.index))
    columns = [c for c in table.columns if c in VOLATILE_COLUMNS]
    stable = table.loc[~rows].drop(columns=columns).reset_index(drop=True)
    # the measurements whole: the volatile rows, or (with a volatile column) the whole table
    volatile = table if columns else table.loc[rows]
    return stable, volatile.reset_index(drop=True)


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
        return float(self.peak_rss - self.start_rss) / 2**20


def method_inputs(ds: PairedDataset, rows: np.ndarray, est: CrossModalEstimator
            ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The arrays a method consumes for the given rows (clip means, sequences + lengths, or the
    raw media: log-mel spectrograms and images)."""
    if est.input_kind == "media":
        from paper_lib.data.media import media_views

        audio, visual = media_views(ds)                   # DataError when ds keeps no media
        return audio[rows], visual[rows], {}
    if est.input_kind == "sequence":
        if ds.audio_seq is None or ds.visual_seq is None or ds.seq_len is None:
            raise UserError(f"dataset {ds.name!r} has no per-second sequences, which method "
                            f"{type(est).__name__} needs")
        return ds.audio_seq[rows], ds.visual_seq[rows], {"lengths": ds.seq_len[rows]}
    return ds.audio[rows], ds.visual[rows], {}


def build_estimator(method: str, dim: int, seed: int, epochs: int,
                    hyper: dict[str, Any] | None = None) -> CrossModalEstimator:
    """A fresh, unfitted estimator of a registered method."""
    return get_method(method).build(dim, seed, epochs, **dict(hyper or {}))


def check_embedding(Z_audio: np.ndarray, Z_visual: np.ndarray, method: str, split: str) -> None:
    """A fitted method's test embeddings must be scorable: finite, and neither view mapping every
    test clip to one point (each query's scores would all tie, and MAP would only reflect the
    gallery's row order). A degenerate embedding is reported as :class:`UserError` naming the
    method, the split and the view, never scored."""
    for Z, view in ((Z_audio, "audio"), (Z_visual, "visual")):
        Z = np.asarray(Z)
        where = f"{method} on {split}: the {view} test embedding"
        if not np.isfinite(Z).all():
            raise UserError(f"{where} contains NaN or inf values (a diverged or degenerate fit); "
                            f"it is not scored.")
        flat = Z.reshape(Z.shape[0], -1)
        if flat.shape[0] > 1 and not (flat != flat[:1]).any():
            raise UserError(f"{where} maps every test clip to the same point, so every score "
                            f"would tie; it is not scored (a collapsed fit or an uninformative "
                            f"view).")


def evaluate_split(ds: PairedDataset, method: str | CrossModalEstimator, split: Split, *,
                   seed: int = 0, dim: int = 10, epochs: int = 10, metric: str = "cosine",
                   hyper: dict[str, Any] | None = None) -> SplitResult:
    """Fit a fresh estimator on ``split.train``, embed ``split.test`` per view, score both ways.

    The paper's protocol for one split (see the module docstring): the estimator sees the
    training rows only; each test view is embedded from itself alone; every test clip queries
    the whole test fold of the other modality, and
    :func:`~paper_lib.metrics.retrieval.retrieval_report` scores each direction.

    Parameters
    ----------
    ds : PairedDataset
        The dataset.
    method : str or CrossModalEstimator
        A registered method name (see :mod:`paper_lib.methods.registry`), built afresh from
        ``dim``, ``seed``, ``epochs`` and ``hyper``; or an unfitted estimator, used as given.
    split : Split
        The split to evaluate, e.g. from :meth:`PairedDataset.splits
        <paper_lib.data.dataset.PairedDataset.splits>`.
    seed : int, default=0
        The estimator's ``random_state``.
    dim : int, default=10
        d, the embedding dimension asked for.
    epochs : int, default=10
        Training epochs of the deep methods.
    metric : {"cosine", "euclidean", "hamming"}, default="cosine"
        The similarity the gallery is ranked by (a hashing method's own ``retrieval_metric``
        overrides it).
    hyper : dict, optional
        Further hyper-parameters of the method.

    Returns
    -------
    SplitResult
        The test embeddings, labels, metrics of both directions, fit time and peak memory.

    Examples
    --------
    >>> from paper_lib.data.registry import load_dataset
    >>> ds = load_dataset("synthetic", n_classes=3, n_per_class=20, d_audio=8, d_visual=12,
    ...                   max_seconds=3, use_cache=False)     # 60 clips, 5 folds
    >>> split = next(ds.splits())                              # fold 0: 48 train, 12 test
    >>> result = evaluate_split(ds, "c_cca", split, dim=2)
    >>> result.Z_audio.shape, result.Z_visual.shape, sorted(result.metrics)
    ((12, 2), (12, 2), ['a2v', 'v2a'])
    >>> 0.0 <= result.metrics["a2v"]["map"] <= 1.0
    True
    """
    check_metric(metric)
    if isinstance(method, str):
        name, est = method, build_estimator(method, dim, seed, epochs, hyper)
    else:  # an unfitted estimator given directly (used by tests and notebooks)
        name, est = type(method).__name__, method
    metric = est.retrieval_metric or metric              # hashing codes are ranked by Hamming
    Xa_tr, Xv_tr, kw_tr = method_inputs(ds, split.train, est)
    Xa_te, Xv_te, kw_te = method_inputs(ds, split.test, est)
    y_tr, y_te = ds.labels[split.train], ds.labels[split.test]
    t0 = time.perf_counter()
    with _PeakRSS() as mem:
        est.fit(Xa_tr, Xv_tr, y_tr, **kw_tr)
        Z_a = est.transform(X_audio=Xa_te, **kw_te)[0]    # audio embeddings from audio only
        Z_v = est.transform(X_visual=Xv_te, **kw_te)[1]   # visual embeddings from visual only
    seconds = time.perf_counter() - t0
    if Z_a is None or Z_v is None:
        raise RuntimeError(f"{type(est).__name__}.transform returned no embedding for a view")
    check_embedding(Z_a, Z_v, name, split.name)
    S = audio_visual_scores(Z_a, Z_v, metric)             # (n_test, n_test): audio x visual
    metrics = {"a2v": retrieval_report(S, y_te, y_te),
               "v2a": retrieval_report(S.T, y_te, y_te)}
    kept = getattr(est, "n_components_", None)
    return SplitResult(name, split, seed, Z_a, Z_v, y_te, metrics, seconds, mem.peak_mb,
                       metric=metric, estimator=est,
                       effective_dim=None if kept is None else int(kept))


def records(result: SplitResult, dataset: str, dim: int, setting: str = "") -> list[dict[str, Any]]:
    """Tidy rows: one per (method, fold, seed, direction, metric), plus time, memory and the size
    of the embedding (``effective_dim``, or ``code_bits`` for a hashing method's codes).

    Each row is a dict with the keys of :data:`RECORD_COLUMNS`.
    """
    base = {"dataset": dataset, "method": result.method, "setting": setting,
            "fold": result.split.fold, "seed": result.seed, "dim": dim}
    rows = [base | {"direction": d, "metric": m, "value": float(v)}
            for d, report in result.metrics.items() for m, v in report.items()]
    rows.append(base | {"direction": "fit", "metric": "wall_time_s", "value": result.fit_seconds})
    rows.append(base | {"direction": "fit", "metric": "peak_rss_mb", "value": result.peak_rss_mb})
    if result.effective_dim is not None:
        # the d actually used, beside the requested ``dim``; for binary codes ranked by Hamming
        # distance, the code length instead (a hashing method's size is its number of bits)
        size = "code_bits" if result.metric == "hamming" else "effective_dim"
        rows.append(base | {"direction": "fit", "metric": size,
                            "value": float(result.effective_dim)})
    return rows


__all__ = ["DIRECTIONS", "RECORD_COLUMNS", "VOLATILE_COLUMNS", "VOLATILE_METRICS", "build_estimator",
           "check_embedding", "evaluate_split", "records", "split_volatile"]
