"""Retrieval metrics: our kernels against a sort, a naive numpy ranking, scikit-learn and
torchmetrics on a VEGAS-sized test fold (``python -m benchmarks.bench_metrics``).

Data: 5,620 queries x 5,620 gallery items, 10 classes, cosine scores of random 10-d embeddings
(:func:`paper_lib.metrics.similarity`, float64; no two scores of a row are equal, checked), one
seed. Single thread (BLAS and torch). Every implementation computes MAP over the full ranking;
``agrees`` says whether its value equals ours (within 1e-9; 1e-6 for torchmetrics, which
computes in float32), ``abs_diff`` by how much. Then a growth run: ours and the scikit-learn
loop for n x n problems up to 20,000 x 20,000 (float32 scores, 1.6 GB), with the fitted
exponent (cost ~ n^slope). Writes ``results/bench_metrics.csv``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch
from sklearn.metrics import average_precision_score
from threadpoolctl import threadpool_limits

from benchmarks._harness import Measurement, growth_slope, measure, write_csv
from paper_lib.metrics import (
    average_precision,
    mean_average_precision,
    pr_curve,
    precision_at_k,
    ranking_summary,
    retrieval_report,
    similarity,
)
from paper_lib.metrics.retrieval import _KERNEL_SCORES

N = 5620                    # VEGAS test fold
N_CLASSES = 10
DIM = 10
K = 10                      # the cut-off of P@k in the target
SEED = 0
SKLEARN_QUERIES = 500       # the scikit-learn loop runs on this many queries, scaled to all
TORCHMETRICS_QUERIES = 1000
GROWTH_SIZES = (500, 1000, 2000, 5000, 10000, 20000)
GROWTH_SKLEARN_QUERIES = 200
TOL, TOL_FLOAT32 = 1e-9, 1e-6

Row = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def embeddings(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Query and gallery embeddings (paired: one label each) and the labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, N_CLASSES, n)
    return rng.normal(size=(n, DIM)), rng.normal(size=(n, DIM)), labels


def cosine_float32(Q: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Cosine scores in float32 (half the memory of :func:`similarity`, for the growth run)."""
    Qn = (Q / np.linalg.norm(Q, axis=1, keepdims=True)).astype(np.float32)
    Gn = (G / np.linalg.norm(G, axis=1, keepdims=True)).astype(np.float32)
    return Qn @ Gn.T


def tie_free(S: np.ndarray) -> bool:
    ordered = np.sort(S, axis=1)
    return not bool((ordered[:, 1:] == ordered[:, :-1]).any())


# ---------------------------------------------------------------------------------------------
# the implementations (each returns MAP, or the values checked against ours)
# ---------------------------------------------------------------------------------------------
def ours_target(S: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    """The target: MAP, the PR curve and P@k, three public calls."""
    return mean_average_precision(S, y, y), pr_curve(S, y, y)[0], precision_at_k(S, y, y, K)


def ours_one_pass(S: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, float]:
    """MAP, the PR curve and P@k from one value sort per row: ``ranking_summary``."""
    summary = ranking_summary(S, y, y, K)
    return summary.map, summary.precision, summary.precision_at_k


def sort_floor(S: np.ndarray, rows: int | None) -> None:
    """One value sort of every row (in blocks of ``rows`` rows, or the whole matrix at once)."""
    step = S.shape[0] if rows is None else rows
    for start in range(0, S.shape[0], step):
        np.sort(S[start:start + step], axis=1)


def naive_numpy_map(S: np.ndarray, y: np.ndarray) -> float:
    """Argsort every row, then AP = (1/R) Σ_k P@k · rel_k with a cumulative sum."""
    order = np.argsort(-S, axis=1)
    rel = y[order] == y[:, None]
    hits = np.cumsum(rel, axis=1)
    precision = hits / np.arange(1, S.shape[1] + 1)
    return float((np.where(rel, precision, 0.0).sum(axis=1) / rel.sum(axis=1)).mean())


def sklearn_ap(S: np.ndarray, y: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """scikit-learn's average_precision_score, one query at a time."""
    return np.array([average_precision_score(y == y[i], S[i]) for i in queries])


def torchmetrics_map(preds: torch.Tensor, target: torch.Tensor, indexes: torch.Tensor) -> float:
    from torchmetrics.retrieval import RetrievalMAP

    metric = RetrievalMAP(empty_target_action="skip")
    metric.update(preds, target, indexes)
    return float(metric.compute())


# ---------------------------------------------------------------------------------------------
# rows
# ---------------------------------------------------------------------------------------------
def row(question: str, implementation: str, m: Measurement, shape: tuple[int, int], *,
        baseline_s: float, floor_s: float | None = None, scale: float = 1.0,
        agrees: bool | None = None, abs_diff: float | None = None, note: str = "") -> Row:
    """One CSV row. ``ratio_to_ours`` = this time / ``baseline_s`` (ours, same question),
    ``ratio_to_floor`` = this time / the sort floor; ``scale`` turns a subsample's time into the
    time for every query (the peak memory stays the subsample's)."""
    median = m.median_s * scale
    return {"question": question, "implementation": implementation, "n_queries": shape[0],
            "n_gallery": shape[1], "median_s": median, "peak_mb": m.peak_mb,
            "ratio_to_ours": median / baseline_s,
            "ratio_to_floor": None if floor_s is None else median / floor_s,
            "agrees": agrees, "abs_diff": abs_diff, "slope": None, "note": note}


def timed(fn: Callable[[], Any], repeats: int = 3) -> tuple[Measurement, Any]:
    """The measurement of ``fn`` and the value its last call returned."""
    last: dict[str, Any] = {}

    def call() -> None:
        last["value"] = fn()

    return measure(call, repeats=repeats), last["value"]


def fold_rows() -> list[Row]:
    Q, G, y = embeddings(N, SEED)
    S = similarity(Q, G)
    assert tie_free(S), "the benchmark's scores must hold no ties"
    size = (N, N)

    m_map, map_value = timed(lambda: mean_average_precision(S, y, y))
    m_target, (map_t, precision_t, p_at_k) = timed(lambda: ours_target(S, y))
    m_report, report = timed(lambda: retrieval_report(S, y, y))
    m_one, (map_1, precision_1, p_at_k_1) = timed(lambda: ours_one_pass(S, y))
    kernel_rows = max(1, _KERNEL_SCORES // N)          # the rows our kernel sorts at a time
    m_floor = measure(lambda: sort_floor(S, kernel_rows), repeats=3)
    m_floor_whole = measure(lambda: sort_floor(S, None), repeats=3)
    floor_s = min(m_floor.median_s, m_floor_whole.median_s)
    m_naive, naive_value = timed(lambda: naive_numpy_map(S, y))

    sub = np.random.default_rng(SEED + 1).choice(N, SKLEARN_QUERIES, replace=False)
    m_sklearn, sk_values = timed(lambda: sklearn_ap(S, y, sub))
    sk_diff = float(np.abs(sk_values - average_precision(S, y, y)[sub]).max())

    # torchmetrics 1.9 casts preds to float32 and counts an item with preds <= 0 as not relevant:
    # give it each row's ranks of S (1..n_g as float32: positive, same order, no tie)
    tm_rows = np.random.default_rng(SEED + 2).choice(N, TORCHMETRICS_QUERIES, replace=False)
    ranks = np.argsort(np.argsort(S[tm_rows], axis=1), axis=1) + 1
    preds = torch.from_numpy(ranks.astype(np.float32)).reshape(-1)
    target = torch.from_numpy(y[None, :] == y[tm_rows, None]).reshape(-1)
    indexes = torch.arange(tm_rows.size).repeat_interleave(N)
    m_tm, tm_value = timed(lambda: torchmetrics_map(preds, target, indexes))
    tm_diff = abs(tm_value - mean_average_precision(S[tm_rows], y[tm_rows], y))

    target_ok = (map_t == map_value and abs(precision_t[K - 1] - p_at_k) <= TOL)
    one_diff = max(abs(map_1 - map_value), float(np.abs(precision_1 - precision_t).max()),
                   abs(p_at_k_1 - p_at_k))
    naive_diff = abs(naive_value - map_value)
    sk_scale = N / SKLEARN_QUERIES
    tm_scale = N / TORCHMETRICS_QUERIES
    base_map, base_target = m_map.median_s, m_one.median_s
    rows = [
        row("map", "ours: mean_average_precision", m_map, size, baseline_s=base_map,
            floor_s=floor_s, agrees=True, abs_diff=0.0, note="one value sort per row"),
        row("map", f"floor: np.sort per row, {kernel_rows}-row blocks", m_floor, size,
            baseline_s=base_map, floor_s=floor_s,
            note="no metric: the blocks our kernel sorts (each copied from S first)"),
        row("map", "floor: np.sort per row, whole matrix", m_floor_whole, size,
            baseline_s=base_map, floor_s=floor_s,
            note="no metric; one 250 MB output (page faults)"),
        row("map", "naive numpy: argsort per row + cumsum AP", m_naive, size,
            baseline_s=base_map, floor_s=floor_s, agrees=naive_diff <= TOL, abs_diff=naive_diff,
            note="whole matrix at once"),
        row("map", "scikit-learn average_precision_score per query", m_sklearn, size,
            baseline_s=base_map, floor_s=floor_s, scale=sk_scale, agrees=sk_diff <= TOL,
            abs_diff=sk_diff,
            note=f"timed on {SKLEARN_QUERIES} random queries, scaled x{sk_scale:.2f} to all; "
                 f"agreement: per-query AP of those queries"),
        row("map", "torchmetrics RetrievalMAP", m_tm, size, baseline_s=base_map,
            floor_s=floor_s, scale=tm_scale, agrees=tm_diff <= TOL_FLOAT32, abs_diff=tm_diff,
            note=f"torchmetrics {_torchmetrics_version()}; timed on {TORCHMETRICS_QUERIES} "
                 f"random queries, scaled x{tm_scale:.2f}; empty_target_action='skip' (averages "
                 f"over queries with a relevant item, as ours), ties broken by order (none "
                 f"here); it computes in float32 and drops preds <= 0, so it gets each row's "
                 f"ranks of S as preds; agrees within {TOL_FLOAT32:g} (float32)"),
        row("map+pr+p@k", "ours: ranking_summary", m_one, size,
            baseline_s=base_target, floor_s=floor_s, agrees=one_diff <= TOL, abs_diff=one_diff,
            note=f"the target; k = {K}; one value sort per row for all three"),
        row("map+pr+p@k", "ours: mean_average_precision + pr_curve + precision_at_k", m_target,
            size, baseline_s=base_target, floor_s=floor_s, agrees=target_ok, abs_diff=0.0,
            note="three public calls, three value sorts"),
        row("map+pr+p@k", "scikit-learn average_precision_score per query (MAP only)",
            m_sklearn, size, baseline_s=base_target, floor_s=floor_s, scale=sk_scale,
            agrees=sk_diff <= TOL, abs_diff=sk_diff,
            note=f"as in question map (MAP alone: a lower bound for all three); x{sk_scale:.2f}"),
        row("report", "ours: retrieval_report", m_report, size, baseline_s=m_report.median_s,
            floor_s=floor_s, agrees=report["map"] == map_value and report["p@10"] == p_at_k,
            abs_diff=0.0, note="MAP, MRR, P/R/nDCG/pair-R@{1,5,10,30,100}: one value sort"),
    ]
    return rows


def _torchmetrics_version() -> str:
    import torchmetrics

    return str(torchmetrics.__version__)


def growth_rows() -> list[Row]:
    """Ours (MAP) and the scikit-learn loop (subsampled, scaled) on n x n problems."""
    ours_s, sk_s, rows = [], [], []
    for n in GROWTH_SIZES:
        Q, G, y = embeddings(n, SEED + n)
        S = cosine_float32(Q, G)
        del Q, G
        big = n > 5000
        m_ours = measure(partial(mean_average_precision, S, y, y), repeats=1 if big else 3,
                         warmup=0 if big else 1)
        sub = np.random.default_rng(n).choice(n, min(n, GROWTH_SKLEARN_QUERIES), replace=False)
        m_sk = measure(partial(sklearn_ap, S, y, sub), repeats=1, warmup=0)
        diff = float(np.abs(sklearn_ap(S, y, sub) - average_precision(S, y, y)[sub]).max())
        scale = n / sub.size
        ours_s.append(m_ours.median_s)
        sk_s.append(m_sk.median_s * scale)
        size = (n, n)
        rows += [
            row("growth", "ours: mean_average_precision", m_ours, size,
                baseline_s=m_ours.median_s, agrees=True, abs_diff=0.0,
                note="float32 cosine scores"),
            row("growth", "scikit-learn average_precision_score per query", m_sk, size,
                baseline_s=m_ours.median_s, scale=scale, agrees=diff <= TOL,
                abs_diff=diff, note=f"timed on {sub.size} queries, scaled x{scale:.1f}"),
        ]
        del S
    slopes = {"ours: mean_average_precision": growth_slope(GROWTH_SIZES, ours_s),
              "scikit-learn average_precision_score per query": growth_slope(GROWTH_SIZES, sk_s)}
    for r in rows:
        r["slope"] = slopes[r["implementation"]]
    return rows


def main() -> None:
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    with threadpool_limits(1):
        rows = fold_rows() + growth_rows()
    path = write_csv("metrics", rows)
    for r in rows:
        print(f"{r['question']:11s} {r['implementation'][:58]:58s} n={r['n_queries']:>6} "
              f"{r['median_s']:9.3f} s  x{r['ratio_to_ours']:7.2f}  agrees={r['agrees']}")
    print(f"wrote {path} in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
