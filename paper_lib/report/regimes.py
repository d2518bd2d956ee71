"""Two feature regimes side by side: the same clips with pretrained features and with raw ones.

The paper compares its methods on features from networks pretrained on other data (VGGish,
Inception V3). The book's default dataset, ``avdigits-pretrained``, mirrors that regime; the
raw-feature ``avdigits`` (log-mel statistics and MNIST pixels) is the other regime, kept and
built too. This module pairs a dataset with its companion in the other regime, and puts the two
main tables beside each other with each regime's rank agreement with the paper.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from paper_lib.errors import UserError
from paper_lib.experiment import DIRECTIONS
from paper_lib.metrics.cross_modal import DIRECTION_LABELS
from paper_lib.report.tables import MISSING, mean_std

#: the two regimes of the AV-digits clips, default first, with what a reader calls them
REGIMES: dict[str, str] = {
    "avdigits-pretrained": "pretrained features (the paper's regime)",
    "avdigits": "raw features (log-mel statistics, pixels)",
}


#: what the methods see in each regime (completes "an RBF kernel on its ...")
_FEATURES = {
    "avdigits-pretrained": ("pretrained features (embeddings of networks trained on spoken words "
                            "and letters, never on digits)"),
    "avdigits": "low-level features (pooled log-mel statistics, raw pixels)",
}
#: the regime in one or two sentences, against the paper's
_REGIME = {
    "avdigits-pretrained": (
        "Features of two small networks pretrained in the build on 20 spoken words and 20 "
        "letters (no digit), where the paper's VGGish and Inception V3 were pretrained on far "
        "larger data (YouTube audio, ImageNet) and see VEGAS's real videos."),
    "avdigits": (
        "Raw pixels and pooled log-mel statistics, where the paper feeds VGGish and Inception V3 "
        "features of VEGAS's videos, computed by networks pretrained on other, larger data."),
}
#: the methods that learn a non-linear map of their input end to end (kernel or network)
LEARN_FEATURES: tuple[str, ...] = ("kcca", "c_kcca", "dcca", "c_dcca", "lstm_c_cca")
#: the linear CCA family on fixed features
LINEAR_ON_FEATURES: tuple[str, ...] = ("cca", "c_cca", "c_cca_rasiwasia")


def features_text(dataset: str) -> str:
    """What the methods see on ``dataset`` (for a sentence about its features)."""
    return _FEATURES.get(dataset, f"{dataset}'s features")


def regime_text(dataset: str) -> str:
    """The feature regime of ``dataset`` against the paper's, in a sentence or two."""
    return _REGIME.get(dataset, f"The features of {dataset}, where the paper feeds VGGish and "
                                f"Inception V3 features of VEGAS's videos.")


def regimes_caption(datasets: list[str]) -> str:
    """Caption of the side-by-side table."""
    if len(datasets) < 2:
        return (f"MAP of every method on {datasets[0]} beside the paper's (VEGAS): this dataset "
                f"has no companion in another feature regime.")
    names = " and ".join(f"{regime_label(n)} ({n})" for n in ordered(dict.fromkeys(datasets)))
    return ("The main comparison in two feature regimes of the same AV-digits clips, pairs and "
            f"folds: {names}, mean ± standard deviation over the fits, with the method's rank "
            "within its column in brackets (1 = best), beside the paper's MAP on VEGAS.")


def lesson(tables: Mapping[str, pd.DataFrame]) -> str:
    """What the feature stage changed, stated from the two regimes' numbers (mean of A→V and
    V→A): the mean change of the methods that learn their own non-linear map and of the linear
    CCA family, the best method and TNN-C-CCA's rank in each regime, the rank agreement."""
    if "avdigits-pretrained" not in tables or "avdigits" not in tables:
        return "This build has one regime only; the comparison needs both AV-digits datasets."
    pre, raw = (tables[n].set_index("method") for n in ("avdigits-pretrained", "avdigits"))

    def score(t: pd.DataFrame) -> pd.Series:
        return (t["ours_map_a2v_mean"] + t["ours_map_v2a_mean"]) / 2

    change = score(pre) - score(raw)
    learn = change.reindex([m for m in LEARN_FEATURES if m in change.index]).mean()
    linear = change.reindex([m for m in LINEAR_ON_FEATURES if m in change.index]).mean()
    agree = agreement_table(tables).set_index("dataset")

    def moved(x: float) -> str:
        return f"{'gain' if x > 0 else 'lose'} {abs(x):.3f} MAP on average"

    rho = {n: (agree.loc[n, "rho_a2v"] + agree.loc[n, "rho_v2a"]) / 2 for n in agree.index}
    return (
        f"From raw to pretrained features, the linear CCA family (CCA and both C-CCA variants) "
        f"{moved(linear)}, the methods that learn their own non-linear map of the input (KCCA, "
        f"C-KCCA, DCCA, S-DCCA, lstm_C-CCA) {moved(learn)} (mean of A→V and V→A). "
        f"The best method is {agree.loc['avdigits-pretrained', 'best']} with pretrained "
        f"features and {agree.loc['avdigits', 'best']} with raw ones; TNN-C-CCA (batch-all) "
        f"ranks {agree.loc['avdigits-pretrained', 'tnn_c_cca_rank']} and "
        f"{agree.loc['avdigits', 'tnn_c_cca_rank']} of {agree.loc['avdigits', 'n_methods']}. "
        f"The ordering agrees with the paper's with a mean Spearman ρ of "
        f"{rho['avdigits-pretrained']:.2f} (pretrained) and {rho['avdigits']:.2f} (raw). "
        + (_NARROWS if linear > learn else _DOES_NOT_NARROW))


#: the reading when the feature stage helps the linear family more than the non-linear methods
_NARROWS = (
    "The feature stage narrowed the gap between linear and non-linear methods, as the paper's "
    "regime would lead one to expect: on raw inputs the classes are not linearly related across "
    "the views, so a method that bends its input (a kernel, a network trained with the labels) "
    "has room to win; on features already shaped by pretraining, much of that bending is done, "
    "and what is left is to align the two views, the step the paper's methods compete on.")
#: the reading otherwise (stated, not explained away)
_DOES_NOT_NARROW = (
    "Here the feature stage did not help the linear family more than the non-linear methods: "
    "small networks pretrained on 20 words and 20 letters are a much weaker feature stage than "
    "VGGish and Inception V3, so this regime is only a step towards the paper's.")


def load_tables(results_root: Path, dataset: str) -> dict[str, pd.DataFrame]:
    """The main tables the main-table page of this build wrote: ``dataset``'s
    (``main_table/main_table.csv``) and its companion regime's
    (``main_table/main_table_<companion>.csv``) when present."""
    folder = results_root / "main_table"
    path = folder / "main_table.csv"
    if not path.is_file():
        raise UserError(f"{path} does not exist: run the main table first "
                        f"(paper-lib reproduce --only 02_main_table).")
    tables = {dataset: pd.read_csv(path)}
    other = companion(dataset)
    if other is not None and (folder / f"main_table_{other}.csv").is_file():
        tables[other] = pd.read_csv(folder / f"main_table_{other}.csv")
    return tables


def companion(dataset: str) -> str | None:
    """The same clips in the other feature regime (``None`` for any other dataset)."""
    names = list(REGIMES)
    return names[1 - names.index(dataset)] if dataset in REGIMES else None


def raw_regime(dataset: str) -> str:
    """The raw-feature dataset of the AV-digits pair for either of its regimes; any other
    dataset is its own."""
    return "avdigits" if dataset in REGIMES else dataset


def regime_label(dataset: str) -> str:
    """What the book calls a dataset's regime (the dataset name for one outside the pair)."""
    return REGIMES.get(dataset, dataset)


def ordered(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The datasets of ``tables`` in the book's order of regimes (default first)."""
    return sorted(tables, key=lambda name: list(REGIMES).index(name) if name in REGIMES else 99)


def rank_agreement(table: pd.DataFrame) -> dict[str, float]:
    """Per direction, Spearman's ρ between the paper's MAP and ours over the methods of a main
    table (:func:`paper_lib.report.main_table.main_table`) that have both (NaN below three)."""
    out = {}
    for d in DIRECTIONS:
        both = table.dropna(subset=[f"paper_map_{d}", f"ours_map_{d}_mean"])
        out[d] = (float(stats.spearmanr(both[f"paper_map_{d}"], both[f"ours_map_{d}_mean"])[0])
                  if len(both) >= 3 else float("nan"))
    return out


def regimes_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per method: the paper's MAP and each regime's mean ± std, both directions.

    Columns: ``method``, ``paper_name``, ``paper_map_a2v``, ``paper_map_v2a``, and per dataset
    ``<dataset>:map_<d>_mean`` / ``_std``, plus ``<dataset>:rank_<d>`` (1 = best of the column).
    """
    names = ordered(tables)
    first = tables[names[0]]
    out = first[["method", "paper_name", "paper_map_a2v", "paper_map_v2a"]].copy()
    for name in names:
        t = tables[name].set_index("method").reindex(out["method"])
        for d in DIRECTIONS:
            mean = t[f"ours_map_{d}_mean"].to_numpy(dtype=float)
            out[f"{name}:map_{d}_mean"] = mean
            out[f"{name}:map_{d}_std"] = t[f"ours_map_{d}_std"].to_numpy(dtype=float)
            out[f"{name}:rank_{d}"] = pd.Series(-mean).rank(method="min").to_numpy(dtype=int)
    return out.reset_index(drop=True)


def agreement_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per regime: Spearman's ρ with the paper per direction, the best method, and the rank of
    TNN-C-CCA (batch-all) by the mean of both directions."""
    rows = []
    for name in ordered(tables):
        t = tables[name]
        rho = rank_agreement(t)
        both = (t["ours_map_a2v_mean"] + t["ours_map_v2a_mean"]) / 2
        rank = both.rank(ascending=False, method="min")
        best = t.loc[both.idxmax(), "paper_name"]
        tnn = t.index[t["method"] == "tnn_c_cca"]
        rows.append({"dataset": name, "regime": regime_label(name),
                     "rho_a2v": rho["a2v"], "rho_v2a": rho["v2a"], "best": str(best),
                     "tnn_c_cca_rank": int(rank[tnn[0]]) if len(tnn) else -1,
                     "n_methods": int(len(t))})
    return pd.DataFrame(rows)


def regimes_view(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """The side-by-side table for reading: method, the paper's MAP, each regime's MAP (mean ±
    std with its rank in brackets), per direction."""
    names = sorted({c.split(":")[0] for c in table.columns if ":" in c},
                   key=lambda n: list(REGIMES).index(n) if n in REGIMES else 99)
    view = pd.DataFrame({"method": table["paper_name"]})
    for d in DIRECTIONS:
        label = DIRECTION_LABELS[d]
        view[f"paper {label}"] = [(MISSING if np.isnan(v) else f"{v:.{digits}f}")
                                  for v in table[f"paper_map_{d}"]]
        for name in names:
            short = "pretrained" if name == "avdigits-pretrained" else (
                "raw" if name == "avdigits" else name)
            view[f"{short} {label}"] = [
                f"{mean_std(m, s, digits)} ({r})" for m, s, r in
                zip(table[f"{name}:map_{d}_mean"], table[f"{name}:map_{d}_std"],
                    table[f"{name}:rank_{d}"], strict=True)]
    return view


def agreement_view(agreement: pd.DataFrame) -> pd.DataFrame:
    """The agreement table for reading."""
    return pd.DataFrame({
        "dataset": agreement["dataset"], "regime": agreement["regime"],
        "ρ with the paper, A→V": [f"{v:.2f}" if np.isfinite(v) else MISSING
                                  for v in agreement["rho_a2v"]],
        "ρ with the paper, V→A": [f"{v:.2f}" if np.isfinite(v) else MISSING
                                  for v in agreement["rho_v2a"]],
        "best method": agreement["best"],
        "TNN-C-CCA's rank": [f"{r} of {n}" for r, n in
                             zip(agreement["tnn_c_cca_rank"], agreement["n_methods"],
                                 strict=True)]})


def plot_regimes(table: pd.DataFrame) -> plt.Figure:
    """Each method's MAP in both regimes (filled: pretrained, hollow: raw), joined by a line,
    with the paper's number (diamond), one panel per direction; methods by pretrained MAP."""
    names = sorted({c.split(":")[0] for c in table.columns if ":" in c},
                   key=lambda n: list(REGIMES).index(n) if n in REGIMES else 99)
    key = f"{names[0]}:map_a2v_mean"
    order = table.sort_values(key).reset_index(drop=True)
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 0.32 * len(order) + 1.4), sharey=True)
    y = np.arange(len(order))
    styles = [dict(marker="o", color="C0", label=regime_label(names[0]))]
    if len(names) > 1:
        styles.append(dict(marker="o", color="C1", markerfacecolor="white",
                           label=regime_label(names[1])))
    for ax, d in zip(axes, DIRECTIONS, strict=True):
        values = [order[f"{n}:map_{d}_mean"].to_numpy(dtype=float) for n in names]
        if len(values) > 1:
            ax.hlines(y, np.minimum(values[0], values[1]), np.maximum(values[0], values[1]),
                      color="0.75", lw=1.5, zorder=1)
        for v, style in zip(values, styles, strict=False):
            ax.plot(v, y, ls="none", ms=6, zorder=3, **style)
        ax.plot(order[f"paper_map_{d}"], y, ls="none", marker="D", ms=5, color="0.2",
                markerfacecolor="none", label="paper (VEGAS)", zorder=2)
        ax.set_title(f"MAP {DIRECTION_LABELS[d]}")
        ax.set_xlabel("MAP")
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(y, order["paper_name"])
    axes[0].set_ylim(-0.7, len(order) - 0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


__all__ = ["LEARN_FEATURES", "LINEAR_ON_FEATURES", "REGIMES", "agreement_table", "agreement_view", "companion", "ordered",
           "features_text", "lesson", "load_tables", "plot_regimes", "rank_agreement", "raw_regime",
           "regime_label",
           "regime_text", "regimes_caption", "regimes_table", "regimes_view"]
