"""Precision-recall curves of every method, from the same fits (and the same ranking) as the MAP.

Per test fold (and seed) and direction, :func:`paper_lib.metrics.retrieval.pr_curve` gives the
query-averaged precision and recall at every rank cut-off k = 1..n_g, and
:func:`paper_lib.metrics.retrieval.interpolated_pr_11` the standard 11-point curve.

Aligning the folds. Test folds differ in size by up to one clip, so their rank-indexed curves have
different lengths and cannot be averaged rank by rank. [choice] Each fold's raw curve is read on a
common recall grid r = 0, 0.01, ..., 1 by *step interpolation*: p(r) = the precision at the
smallest cut-off k whose averaged recall reaches r, recall_k >= r (the first point of the fold's own
curve at or beyond r; p(0) is the precision at rank 1, p(1) the precision at the first cut-off
where every query has retrieved all its relevant items, which for an imperfect method is at or
near the end of the list, where precision is the class prevalence). This never invents a point
between two cut-offs, is defined even where the recall stays flat for a few ranks, and needs no
extrapolation since recall_{n_g} = 1. The curves
are then averaged over folds and seeds, point by point. The 11-point curves share their recall
levels, so they are averaged directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.experiment import DIRECTIONS, SplitResult
from paper_lib.methods.registry import get_method
from paper_lib.metrics import cross_modal
from paper_lib.metrics.retrieval import interpolated_pr_11, pr_curve
from paper_lib.paper import SOTA_BASELINES

#: the common recall grid of the raw curves: 0, 0.01, ..., 1
#: [choice] 101 levels: finer than any test fold's recall steps that matter to the eye, coarse
#: enough for a small CSV (10 methods x 2 directions x 101 points).
#:
#: :meta hide-value:
RECALL_GRID: np.ndarray = np.linspace(0.0, 1.0, 101)
#: the columns of the tidy PR-curve table
PR_COLUMNS = ["method", "direction", "kind", "recall", "precision", "precision_std", "n_curves"]
DIRECTION_LABELS = {"a2v": "A→V (audio query, visual gallery)",
                    "v2a": "V→A (visual query, audio gallery)"}


def precision_on_grid(precision: np.ndarray, recall: np.ndarray,
                      grid: np.ndarray = RECALL_GRID) -> np.ndarray:
    """Step interpolation of one rank-indexed PR curve on a recall grid.

    ``p(r) = precision[k*]`` with ``k* = min{k : recall[k] >= r}``; ``recall`` must be
    non-decreasing (it is, for a query-averaged curve) and reach every grid level.
    """
    p, r, g = (np.asarray(a, dtype=np.float64) for a in (precision, recall, grid))
    if p.ndim != 1 or p.shape != r.shape or p.size == 0:
        raise ValueError(f"precision and recall must be non-empty 1-d arrays of one length, "
                         f"got shapes {p.shape} and {r.shape}")
    if np.any(np.diff(r) < 0):
        raise ValueError("recall must be non-decreasing along the ranking")
    # a tiny tolerance: recall levels like 0.3 are not exact in floating point
    tol = 1e-12
    if g.size and g.max() > r[-1] + tol:
        raise ValueError(f"recall grid goes to {g.max()}, beyond the curve's last recall {r[-1]}")
    first = np.searchsorted(r, g - tol, side="left")  # smallest k with recall_k >= r - tol
    return p[np.minimum(first, p.size - 1)]


def split_curves(result: SplitResult, direction: str) -> dict[str, np.ndarray]:
    """Raw curve on the grid and 11-point curve of one fit in one direction.

    Keys: ``raw`` (len(RECALL_GRID),) and ``11pt`` (11,) precision values.
    """
    S = result.scores(direction)
    precision, recall = pr_curve(S, result.labels, result.labels)       # (n_g,), (n_g,)
    _, p11 = interpolated_pr_11(S, result.labels, result.labels)        # (11,)
    return {"raw": precision_on_grid(precision, recall), "11pt": p11}


def average_curves(results: Sequence[SplitResult],
                   directions: Sequence[str] = DIRECTIONS) -> pd.DataFrame:
    """Tidy mean PR curves (over folds and seeds) per method, direction and kind (raw / 11pt).

    Columns :data:`PR_COLUMNS`: precision is the mean over the fits of the method,
    ``precision_std`` their sample std (0 for one fit), ``n_curves`` the number of fits.
    """
    if not results:
        raise ValueError("results: no fitted splits to draw curves from")
    methods = list(dict.fromkeys(r.method for r in results))
    rows = []
    for method in methods:
        fits = [r for r in results if r.method == method]
        for d in directions:
            curves = [split_curves(r, d) for r in fits]
            for kind, recall in (("raw", RECALL_GRID), ("11pt", np.arange(11) / 10.0)):
                stack = np.stack([c[kind] for c in curves])             # (n_fits, n_levels)
                std = stack.std(axis=0, ddof=1) if len(curves) > 1 else np.zeros(stack.shape[1])
                rows.append(pd.DataFrame({
                    "method": method, "direction": d, "kind": kind, "recall": recall,
                    "precision": stack.mean(axis=0), "precision_std": std,
                    "n_curves": len(curves)}))
    return pd.concat(rows, ignore_index=True)[PR_COLUMNS]


def endpoints(curves: pd.DataFrame) -> pd.DataFrame:
    """Precision at recall 0 (first rank) and at recall 1 (the first cut-off where the
    query-averaged recall reaches 1) of every mean raw curve."""
    raw = curves[curves["kind"] == "raw"]
    first = raw[np.isclose(raw["recall"], 0.0)].set_index(["method", "direction"])["precision"]
    last = raw[np.isclose(raw["recall"], 1.0)].set_index(["method", "direction"])["precision"]
    return pd.DataFrame({"precision_at_r0": first, "precision_at_r1": last}).reset_index()


def endpoints_view(ends: pd.DataFrame) -> pd.DataFrame:
    """:func:`endpoints` for reading: method display names, arrows for the directions."""
    return pd.DataFrame({
        "method": [get_method(m).paper_name for m in ends["method"]],
        "direction": [cross_modal.DIRECTION_LABELS[d] for d in ends["direction"]],
        "precision at recall 0": ends["precision_at_r0"].to_numpy(),
        "precision at recall 1": ends["precision_at_r1"].to_numpy()})


def plot_pr_curves(curves: pd.DataFrame, dataset: str, kind: str = "raw") -> plt.Figure:
    """Two panels (A→V, V→A): one mean PR curve per method (the state-of-the-art baselines
    dashed)."""
    if kind not in ("raw", "11pt"):
        raise ValueError(f"kind must be 'raw' or '11pt', got {kind!r}")
    sub = curves[curves["kind"] == kind]
    methods = list(dict.fromkeys(sub["method"]))
    colours = plt.get_cmap("tab10" if len(methods) <= 10 else "tab20")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
    for ax, d in zip(axes, DIRECTIONS, strict=True):
        for i, m in enumerate(methods):
            c = sub[(sub["method"] == m) & (sub["direction"] == d)]
            style = {"marker": "o", "markersize": 3} if kind == "11pt" else {}
            # the four state-of-the-art baselines dashed, so the families read apart
            ax.plot(c["recall"], c["precision"], color=colours(i), label=get_method(m).paper_name,
                    lw=2.2 if m == "tnn_c_cca" else 1.3,
                    ls="--" if m in SOTA_BASELINES else "-", **style)
        ax.set_title(DIRECTION_LABELS[d])
        ax.set_xlabel("recall")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("precision" if kind == "raw" else "interpolated precision")
    axes[1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    what = "at every rank, on a common recall grid" if kind == "raw" else "11-point interpolated"
    fig.suptitle(f"Precision-recall on {dataset} ({what}; mean over folds and seeds)")
    fig.tight_layout()
    return fig
