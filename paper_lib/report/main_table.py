"""The paper's main comparison: which fits it needs, and the table of our MAP beside the paper's.

One function, :func:`main_configs`, defines the fits of the main comparison; the main table
(``02_main_table``), the PR curves (``03_pr_curves``) and the per-class / significance notebook
(``13_per_class_significance``) all call it with the same parameters, so they hit the same entries
of the experiment cache (:mod:`paper_lib.experiment.cache`) and never refit.

Our numbers and the paper's are never mixed: ours live in ``ours_*`` columns, the paper's in
``paper_*`` columns with the dataset they were reported on and their source.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.experiment import (
    DIRECTIONS,
    Config,
    dim_label,
    fits_label,
    ranking_label,
    summarise,
)
from paper_lib.experiment.evaluate import build_estimator
from paper_lib.methods.registry import get_method
from paper_lib.paper import PAPER_DIM, PAPER_METHODS, Reference

#: the main table's rows we compute: the paper's thirteen methods in its order (six CCA-based
#: baselines, four state-of-the-art ones, its own three), then the published Cluster-CCA
#: (Rasiwasia et al. 2014) as an extra row (the paper's C-CCA is the authors' variant)
MAIN_METHODS: tuple[str, ...] = (*PAPER_METHODS, "c_cca_rasiwasia")
#: the secondary metrics shown beside MAP (keys of ``retrieval_report``)
#: [choice] P@10 (precision at a short list), nDCG@30 ("Objects that sound"), MRR (first hit) and
#: pair_r@10 (VM-NET's Recall@10 of the true partner): four different views of the same ranking.
OTHER_METRICS: tuple[str, ...] = ("p@10", "ndcg@30", "mrr", "pair_r@10")
STATUS_COMPUTED = "computed in this build"


# -- the fits -----------------------------------------------------------------------------------
def main_configs(epochs: int, methods: Iterable[str] | None = None) -> list[Config]:
    """The configs of the main comparison (every method at d = 10, its default hyper-parameters,
    ``epochs`` for the deep methods), in :data:`MAIN_METHODS` order; ``methods`` selects a subset.

    Every notebook that reads the main comparison's fits must build its configs here, so the
    cache keys (dataset, method, effective parameters, fold, seed) are identical.
    """
    chosen = list(MAIN_METHODS if methods is None else methods)
    unknown = [m for m in chosen if m not in MAIN_METHODS]
    if unknown:
        raise ValueError(f"methods: {unknown[0]!r} is not in the main comparison; allowed: "
                         f"{', '.join(MAIN_METHODS)}")
    # [choice] the estimators' own defaults (see paper_lib/methods): the paper's settings where it
    # gives them (C-CCA beta = 0.2, margin 0.5, ~40 clips a batch, 10 epochs), documented choices
    # elsewhere; no per-dataset tuning, and nothing tuned on a test fold.
    return [Config(method=m, dim=PAPER_DIM, epochs=int(epochs)) for m in chosen]


# -- summaries ----------------------------------------------------------------------------------
def metric_summary(records: pd.DataFrame, metrics: Sequence[str] = ("map",)) -> pd.DataFrame:
    """Mean, std (ddof = 1) and count over folds and seeds, per method, direction and metric.

    ``records`` are the tidy rows of :func:`~paper_lib.experiment.grid.run_configs`.
    """
    sub = records[records["metric"].isin(list(metrics))]
    if sub.empty:
        raise ValueError(f"records: no rows for the metrics {list(metrics)}")
    # the runner's one summary (mean, std with ddof = 1, n) per metric, directions A→V and V→A
    out = pd.concat([summarise(sub, m).assign(metric=m) for m in dict.fromkeys(sub["metric"])],
                    ignore_index=True)
    return out[["method", "direction", "metric", "mean", "std", "n"]].reset_index(drop=True)


def main_table(records: pd.DataFrame, paper: Reference,
               methods: Sequence[str] = MAIN_METHODS) -> pd.DataFrame:
    """One row per method: our MAP (mean, std, n over folds x seeds) and the paper's, side by side.

    Columns: ``method``, ``paper_name``, ``in_paper`` (the row is one of the paper's methods),
    ``status``, ``ours_map_a2v_mean``, ``ours_map_a2v_std``, ``ours_map_v2a_mean``,
    ``ours_map_v2a_std``, ``ours_n`` (fits averaged), ``fits`` (the same in words: "5 folds × 3
    seeds", "1 split × 1 seed"), ``d`` (the directions kept, "9 of 10" when a method dropped
    numerically-zero correlations; "64 bits" for a hashing method's codes), ``ranking`` (the score
    the gallery is ranked by: "cosine", or "Hamming" for binary codes), ``ccca_variant`` (the Cluster-CCA variant of a C-* row: "beta"
    for the authors' β-mixed one, "rasiwasia" for the published one; "" for the others),
    ``paper_dataset`` (where the paper's number
    was reported), ``paper_map_a2v``, ``paper_map_v2a``, ``paper_source`` (blank where the
    manifest holds no number of the paper). ``paper`` is the rule's choice
    (:func:`paper_lib.paper.reference`) of the paper's numbers to show.
    """
    reported, reference = paper.rows, paper.dataset
    summary = metric_summary(records, ("map",))
    rows = []
    for m in methods:
        mine = records[records["method"] == m]
        rows.append(_method_row(m, summary, reported, reference)
                    | {"fits": fits_label(mine), "ccca_variant": ccca_variant(m),
                       "d": dim_label(mine), "ranking": ranking_label(mine)})
    return pd.DataFrame(rows)


def ccca_variant(method: str) -> str:
    """The Cluster-CCA variant a method uses at its defaults ("beta", "rasiwasia"), or ""."""
    params = build_estimator(method, PAPER_DIM, 0, 1).get_params()
    return str(params.get("variant", params.get("ccca_variant", "")) or "")


def _method_row(method: str, summary: pd.DataFrame, reported: pd.DataFrame,
                reference: str) -> dict[str, Any]:
    """Our MAP of one method beside the paper's (NaN where the paper has no number)."""
    ours = summary[summary["method"] == method]
    if ours.empty:
        raise ValueError(f"records: no MAP rows for method {method!r}")
    row: dict[str, Any] = {"method": method, "paper_name": get_method(method).paper_name,
                           "in_paper": method in PAPER_METHODS, "status": STATUS_COMPUTED}
    counts = set()
    for d in DIRECTIONS:
        cell = ours[ours["direction"] == d]
        if len(cell) != 1:
            raise ValueError(f"records: method {method!r} has no MAP for direction {d!r}")
        row[f"ours_map_{d}_mean"] = float(cell["mean"].iloc[0])
        row[f"ours_map_{d}_std"] = float(cell["std"].iloc[0])
        counts.add(int(cell["n"].iloc[0]))
    row["ours_n"] = max(counts)
    return row | _paper_cells(method, reported, reference)


def _paper_cells(method: str, reported: pd.DataFrame, reference: str) -> dict[str, Any]:
    """The paper's MAP of ``method`` in both directions, with the dataset and the source."""
    rep = reported[(reported["method"] == method) & (reported["setting"].fillna("") == "")]
    cells: dict[str, Any] = {"paper_dataset": reference if len(rep) else ""}
    for d in DIRECTIONS:
        v = rep.loc[rep["direction"] == d, "value"]
        cells[f"paper_map_{d}"] = float(v.iloc[0]) if len(v) else float("nan")
    cells["paper_source"] = "; ".join(sorted(set(rep["source"]))) if len(rep) else ""
    return cells


def best_of(table: pd.DataFrame, methods: Sequence[str]) -> pd.Series:
    """The row of ``table`` with the highest mean of our A→V and V→A MAP among ``methods``."""
    rows = table[table["method"].isin(list(methods))]
    if rows.empty:
        raise ValueError(f"table: none of the methods {list(methods)}")
    mean = (rows["ours_map_a2v_mean"] + rows["ours_map_v2a_mean"]) / 2
    return rows.loc[mean.idxmax()]


def display_table(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """The main table for reading: ``mean ± std`` strings, the paper's columns labelled with the
    dataset they were reported on, blanks where there is no number."""
    def pm(mean: float, std: float) -> str:
        return "" if np.isnan(mean) else f"{mean:.{digits}f} ± {std:.{digits}f}"

    def num(v: float) -> str:
        return "" if np.isnan(v) else f"{v:.{digits}f}"

    out = pd.DataFrame({"method": table["paper_name"], "status": table["status"],
                        "C-CCA variant": table["ccca_variant"]})
    for d, label in (("a2v", "A→V"), ("v2a", "V→A")):
        out[f"ours MAP {label}"] = [pm(m, s) for m, s in
                                    zip(table[f"ours_map_{d}_mean"], table[f"ours_map_{d}_std"],
                                        strict=True)]
    for d, label in (("a2v", "A→V"), ("v2a", "V→A")):
        out[f"paper MAP {label}"] = [num(v) for v in table[f"paper_map_{d}"]]
    out["d"] = table["d"]
    out["ranking"] = table["ranking"]
    out["fits"] = table["fits"]
    out["paper reported on"] = table["paper_dataset"]
    out["paper source"] = table["paper_source"]
    return out


def other_metrics_table(records: pd.DataFrame, metrics: Sequence[str] = OTHER_METRICS,
                        methods: Sequence[str] = MAIN_METHODS) -> pd.DataFrame:
    """Wide table of the secondary metrics (mean over folds x seeds): one row per method and
    direction, one column per metric."""
    summary = metric_summary(records, metrics)
    summary = summary[summary["direction"].isin(DIRECTIONS)]
    wide = summary.pivot_table(index=["method", "direction"], columns="metric", values="mean")
    wide = wide.reindex(columns=list(metrics))
    wide.columns.name = None
    order = pd.MultiIndex.from_product([list(methods), list(DIRECTIONS)])
    return wide.reindex(order.intersection(wide.index, sort=False)).reset_index().rename(
        columns={"level_0": "method", "level_1": "direction"})


def cost_table(records: pd.DataFrame, methods: Sequence[str] = MAIN_METHODS) -> pd.DataFrame:
    """Fit cost per method: mean and total wall time (s) of fit + embedding, and the peak memory
    above the process's start (MB, max over fits). Times of fits read back from the cache are
    those of the original fit."""
    fit = records[records["direction"] == "fit"]
    time_s = fit[fit["metric"] == "wall_time_s"].groupby("method")["value"]
    mem = fit[fit["metric"] == "peak_rss_mb"].groupby("method")["value"]
    out = pd.DataFrame({"fits": time_s.count(), "wall_time_mean_s": time_s.mean(),
                        "wall_time_total_s": time_s.sum(), "peak_rss_max_mb": mem.max()})
    return out.reindex([m for m in methods if m in out.index]).rename_axis("method").reset_index()


def glue_values(table: pd.DataFrame, prefix: str = "main_table") -> dict[str, float]:
    """Every number of the main table under a unique glue key.

    ``<prefix>_<method>_<dir>_mean`` / ``_std`` (ours) and ``<prefix>_<method>_<dir>_paper``
    (the paper's, only where it has one).
    """
    out: dict[str, float] = {}
    for _, r in table[table["status"] == STATUS_COMPUTED].iterrows():
        for d in DIRECTIONS:
            out[f"{prefix}_{r['method']}_{d}_mean"] = float(r[f"ours_map_{d}_mean"])
            out[f"{prefix}_{r['method']}_{d}_std"] = float(r[f"ours_map_{d}_std"])
    for _, r in table.iterrows():
        for d in DIRECTIONS:
            if not np.isnan(r[f"paper_map_{d}"]):
                out[f"{prefix}_{r['method']}_{d}_paper"] = float(r[f"paper_map_{d}"])
    return out


# -- figure -------------------------------------------------------------------------------------
def plot_main_table(table: pd.DataFrame, dataset: str) -> plt.Figure:
    """Bars: our MAP (mean ± std) per method and direction; hollow diamonds: the paper's numbers
    (labelled with the dataset they were reported on)."""
    done = table[table["status"] == STATUS_COMPUTED].reset_index(drop=True)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    x = np.arange(len(done))
    reference = next((r for r in done["paper_dataset"] if r), "")
    for ax, (d, label) in zip(axes, (("a2v", "A→V"), ("v2a", "V→A")), strict=True):
        ax.bar(x, done[f"ours_map_{d}_mean"], yerr=done[f"ours_map_{d}_std"], capsize=3,
               color="#4c72b0", label=f"ours ({dataset})")
        ax.scatter(x, done[f"paper_map_{d}"], marker="D", facecolors="none", edgecolors="#c44e52",
                   zorder=3, label=f"paper ({reference})" if reference else "paper")
        ax.set_xticks(x, done["paper_name"], rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{label} MAP")
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("MAP (full ranking)")
    axes[0].legend(loc="upper left", fontsize=8)
    fig.suptitle(f"Main comparison on {dataset}: ours (mean ± std over fits) and the paper's")
    fig.tight_layout()
    return fig
