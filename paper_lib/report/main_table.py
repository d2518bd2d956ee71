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
from paper_lib.metrics.cross_modal import DIRECTION_LABELS
from paper_lib.paper import PAPER_DIM, PAPER_METHODS, Reference
from paper_lib.report.tables import MISSING, mean_std

#: the main table's rows we compute: the paper's thirteen methods in its order (six CCA-based
#: baselines, four state-of-the-art ones, its own three), then the published Cluster-CCA
#: (Rasiwasia et al. 2014) as an extra row (the paper's C-CCA is the authors' variant)
MAIN_METHODS: tuple[str, ...] = (*PAPER_METHODS, "c_cca_rasiwasia")
#: the secondary metrics shown beside MAP (keys of ``retrieval_report``)
#: [choice] P@10 (precision at a short list), nDCG@30 ("Objects that sound"), MRR (first hit) and
#: pair_r@10 (VM-NET's Recall@10 of the true partner): four different views of the same ranking.
OTHER_METRICS: tuple[str, ...] = ("p@10", "ndcg@30", "mrr", "pair_r@10")
STATUS_COMPUTED = "computed in this build"
#: how the table prints a Cluster-CCA variant (the book's one name for each, as in the method
#: names "C-CCA (β = 0.2)" and "C-CCA (Rasiwasia)")
VARIANT_LABELS: dict[str, str] = {"beta": "β = 0.2", "rasiwasia": "Rasiwasia"}
#: how the secondary metrics are printed in a table header
METRIC_LABELS: dict[str, str] = {"map": "MAP", "p@10": "P@10", "ndcg@30": "nDCG@30",
                                 "mrr": "MRR", "pair_r@10": "pair R@10"}


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
    """The main table for reading, key columns first: the method's printed name, our MAP A→V and
    V→A (``mean ± std`` on one line, the best mean of each direction in bold), the paper's MAP
    A→V and V→A (numbers, NaN where the paper has none: the Markdown table shows
    :data:`~paper_lib.report.tables.MISSING`), then
    ``fits``, ``k`` (the table's ``d``), ``ranking`` and the ``Cluster-CCA variant`` (:data:`VARIANT_LABELS`). The
    paper's dataset and source are the caption's (:func:`table_caption`), not repeated on every
    row."""
    out = pd.DataFrame({"method": table["paper_name"].astype(str)})
    for d in DIRECTIONS:
        means, stds = table[f"ours_map_{d}_mean"], table[f"ours_map_{d}_std"]
        top = means.max()
        cells = []
        for mean, std in zip(means, stds, strict=True):
            cell = mean_std(mean, std, digits)
            cells.append(f"**{cell}**" if mean == top and cell != MISSING else cell)
        out[f"ours MAP {DIRECTION_LABELS[d]}"] = cells
    for d in DIRECTIONS:
        out[f"paper MAP {DIRECTION_LABELS[d]}"] = table[f"paper_map_{d}"].astype(float)
    out["fits"] = table["fits"]
    out["k"] = table["d"]  # the notation's k (components kept)
    out["ranking"] = table["ranking"]
    out["Cluster-CCA variant"] = [VARIANT_LABELS.get(str(v), str(v)) if isinstance(v, str) and v
                                  else MISSING for v in table["ccca_variant"]]
    return out.reset_index(drop=True)


def paper_sources(table: pd.DataFrame) -> str:
    """The distinct sources of the paper's numbers in ``table``, joined by "; " ("" if none)."""
    found = [s for s in dict.fromkeys(table["paper_source"]) if isinstance(s, str) and s]
    return "; ".join(dict.fromkeys(p.strip() for s in found for p in s.split("; ")))


def table_caption(table: pd.DataFrame) -> str:
    """The main table's caption: what the columns are, the paper's dataset and its source
    (once, here, instead of on every row)."""
    reported = [r for r in dict.fromkeys(table["paper_dataset"]) if isinstance(r, str) and r]
    text = ("MAP of every method of the main comparison, audio to visual (A→V) and visual to "
            "audio (V→A): ours as mean ± standard deviation over the fits of this build (the best "
            "mean of each direction in bold), the paper's numbers beside them, never in the same "
            "column, and a dash where the paper reports none.")
    if reported:
        text += (f" The paper's numbers were reported on {' and '.join(reported)}; source: "
                 f"{paper_sources(table).rstrip('.')}.")
    return text + (" Fits: the folds and seeds each mean covers; k: the directions kept, or a "
                   "hashing method's code length; ranking: the score the gallery is ranked by; "
                   "Cluster-CCA variant: the Cluster-CCA inside each C-* row, β = 0.2 for the "
                   "authors' mix and Rasiwasia for the published one.")


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


def other_metrics_view(other: pd.DataFrame) -> pd.DataFrame:
    """:func:`other_metrics_table` for reading: one row per method (its printed name), one column
    per metric and direction ("P@10 A→V", ..., then the same for V→A)."""
    metrics = [c for c in other.columns if c not in ("method", "direction")]
    methods = list(dict.fromkeys(other["method"]))
    out = pd.DataFrame({"method": [get_method(m).paper_name for m in methods]})
    indexed = other.set_index(["method", "direction"])
    for d in DIRECTIONS:
        for metric in metrics:
            out[f"{METRIC_LABELS.get(metric, metric)} {DIRECTION_LABELS[d]}"] = [
                float(indexed.loc[(m, d), metric]) if (m, d) in indexed.index else np.nan
                for m in methods]
    return out


def cost_view(cost: pd.DataFrame) -> pd.DataFrame:
    """:func:`cost_table` for reading: the method's printed name and human column headers."""
    return pd.DataFrame({"method": [get_method(m).paper_name for m in cost["method"]],
                         "fits": cost["fits"].astype(int),
                         "wall time per fit (s)": cost["wall_time_mean_s"],
                         "wall time, all fits (s)": cost["wall_time_total_s"],
                         "peak memory (MB)": cost["peak_rss_max_mb"]})


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
    """Bars: our MAP (mean ± std) per method, A→V (top) and V→A (bottom); hollow diamonds: the
    paper's numbers (labelled with the dataset they were reported on)."""
    done = table[table["status"] == STATUS_COMPUTED].reset_index(drop=True)
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 7.5), sharex=True)
    x = np.arange(len(done))
    reference = next((r for r in done["paper_dataset"] if r), "")
    for ax, d in zip(axes, DIRECTIONS, strict=True):
        ax.bar(x, done[f"ours_map_{d}_mean"], yerr=done[f"ours_map_{d}_std"], capsize=3,
               color="#4c72b0", label=f"ours ({dataset}), mean ± std")
        ax.scatter(x, done[f"paper_map_{d}"], marker="D", s=40, facecolors="none",
                   edgecolors="#c44e52", linewidths=1.5, zorder=3,
                   label=f"paper ({reference})" if reference else "paper")
        ax.set_ylabel(f"MAP {DIRECTION_LABELS[d]} (full ranking)", fontsize=10)
        ax.set_ylim(0, 1)
        ax.tick_params(axis="y", labelsize=10)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(x, done["paper_name"], rotation=60, ha="right", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: not labels[i].startswith("ours"))
    axes[0].legend([handles[i] for i in order], [labels[i] for i in order], loc="lower center",
                   bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize=10, frameon=False)
    fig.tight_layout()
    return fig
