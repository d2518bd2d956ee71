"""Chapter 23 (notebook ``23_teach_protocol``): the evaluation protocol.

What MAP counts on a hand-made ranking (exact fractions), the truncated-MAP pitfall, tied
scores (no number may depend on gallery order), the query's own pair, PR curves, the fold
protocol, and the table of pitfalls of public implementations with the library object that
guards each and the tests that check it. Every metric comes from ``paper_lib.metrics``; the only
one written here is the flawed :func:`truncated_map_pitfall`, kept to show the inflation it
causes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from paper_lib.metrics.retrieval import (
    average_precision,
    mean_average_precision,
    precision_at_k,
    relevance,
)
from paper_lib.report._teaching_common import mean_prevalence as mean_prevalence

#: the hand-made ranking of 10 gallery items: 1 = same class as the query (R = 5)
HAND_RELEVANCE: tuple[int, ...] = (1, 0, 1, 1, 0, 0, 1, 0, 0, 1)


def hand_toy(rel: Sequence[int] = HAND_RELEVANCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One query (class 1) and a gallery ranked exactly in the given order: (S (1, n),
    q_labels (1,), g_labels (n,)); relevant items have class 1, the others class 0."""
    rel_arr = np.asarray(rel, dtype=np.int64)
    if rel_arr.ndim != 1 or rel_arr.size == 0 or not np.isin(rel_arr, (0, 1)).all():
        raise ValueError(f"rel must be a non-empty sequence of 0/1, got {rel!r}.")
    S = -np.arange(rel_arr.size, dtype=np.float64)[None, :]   # strictly decreasing scores
    return S, np.array([1]), rel_arr


def ap_steps(rel: Sequence[int] = HAND_RELEVANCE) -> pd.DataFrame:
    """AP step by step: rank k, rel_k, hits in the top k, P@k = hits/k and P@k·rel_k."""
    r = np.asarray(rel, dtype=np.int64)
    k = np.arange(1, r.size + 1)
    hits = np.cumsum(r)
    return pd.DataFrame({"rank_k": k, "rel_k": r, "hits_at_k": hits, "precision_at_k": hits / k,
                         "precision_x_rel": hits / k * r})


def hand_ap(rel: Sequence[int] = HAND_RELEVANCE) -> Fraction:
    """AP = (1/R) Σ_k P@k·rel_k as an exact fraction (R = number of relevant items)."""
    r = [int(v) for v in rel]
    R = sum(r)
    if R == 0:
        raise ValueError("rel has no relevant item: AP is undefined.")
    hits, total = 0, Fraction(0)
    for k, v in enumerate(r, start=1):
        hits += v
        total += Fraction(hits, k) * v
    return total / R


def truncated_map_pitfall(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                          k: int) -> float:
    """THE PITFALL - do not report this. "MAP@k" with the hits-in-top-k denominator:

        AP@k_trunc = (1 / hits_k) Σ_{j ≤ k} P@j · rel_j      (0 when hits_k = 0)

    Relevant items beyond rank k simply vanish from the denominator, so a ranking that puts a
    few relevant items first scores high however many it misses. Public cross-modal retrieval
    code often computes this; the paper's protocol (and :mod:`paper_lib.metrics`) divides by R,
    the number of relevant items in the whole gallery, over the full ranking. Kept here only to
    measure the inflation; it reads the library's display ranking (``relevance``: tied items in
    gallery order), so on tied scores it also depends on gallery order, one more flaw the
    library's metrics do not have. The chapter shows it on tie-free scores.
    """
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}.")
    rel = relevance(S, q_labels, g_labels)[:, : int(k)]               # (n_q, k) ranked order
    hits = np.cumsum(rel, axis=1)                                     # hits in the top j
    summed = np.where(rel, hits / np.arange(1, rel.shape[1] + 1), 0.0).sum(axis=1)
    found = hits[:, -1]
    # [choice] a query with no hit in the top k scores 0 (what public implementations do)
    per_query = np.divide(summed, found, out=np.zeros_like(summed), where=found > 0)
    return float(per_query.mean())


def truncation_table(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                     ks: Sequence[int]) -> pd.DataFrame:
    """For each k: the protocol's MAP (full ranking, independent of k) beside the pitfall."""
    full = mean_average_precision(S, q_labels, g_labels)
    return pd.DataFrame([{"k": int(k), "map_full_ranking": full,
                          "truncated_map_pitfall": truncated_map_pitfall(S, q_labels, g_labels,
                                                                         int(k))}
                         for k in ks])


def tie_demo() -> pd.DataFrame:
    """Six gallery items with identical scores, two of them relevant, listed in two gallery
    orders. ``ap_gallery_order_rule`` is the AP a ranking that keeps tied items in gallery order
    (a stable sort) would give: it depends on the listing. The library's AP (scikit-learn's: the
    tie group is one threshold) and P@2 (expected over random orders of the tied items) do not:
    both are 2/6, the share of relevant items (chance)."""
    S = np.zeros((1, 6))
    q = np.array([1])
    rows = []
    for name, g in (("relevant items listed first", [1, 1, 0, 0, 0, 0]),
                    ("relevant items listed last", [0, 0, 0, 0, 1, 1])):
        g_arr = np.array(g)
        rows.append({"gallery_order": name, "gallery_labels": " ".join(map(str, g)),
                     "ap_gallery_order_rule": float(hand_ap(g)),     # the ranking = gallery order
                     "ap": float(average_precision(S, q, g_arr)[0]),
                     "p_at_2": precision_at_k(S, q, g_arr, 2)})
    return pd.DataFrame(rows)


def collapsed_embedding_map(n_classes: int = 10, per_class: int = 50) -> dict[str, float]:
    """A collapsed embedding (every score equal) on a gallery stored class by class, queried by
    each of its items: MAP under the gallery-order rule (tied items in gallery order) against
    the library's tie-aware MAP and the chance level 1 / n_classes."""
    if int(n_classes) < 1 or int(per_class) < 1:
        raise ValueError(f"n_classes and per_class must be >= 1, got {n_classes}, {per_class}.")
    y = np.repeat(np.arange(int(n_classes)), int(per_class))
    # gallery-order rule: class c's relevant items sit at ranks c·m+1 .. (c+1)·m
    by_class = [float(hand_ap((y == c).astype(int).tolist())) for c in range(int(n_classes))]
    return {"map_gallery_order_rule": float(np.mean(by_class)),
            "map": mean_average_precision(np.zeros((y.size, y.size)), y, y),
            "chance": 1.0 / int(n_classes)}


def tied_query_fraction(S: np.ndarray) -> float:
    """Fraction of queries whose score row holds at least one exactly repeated value."""
    S_sorted = np.sort(S, axis=1)
    return float(np.mean((np.diff(S_sorted, axis=1) == 0).any(axis=1)))


def map_without_partner(S: np.ndarray, labels: np.ndarray) -> float:
    """MAP when each query's own partner (gallery item i for query i) is removed from its
    gallery: the protocol keeps it (it is relevant); this shows how much it contributes."""
    n = S.shape[0]
    if S.shape != (n, n) or labels.shape != (n,):
        raise ValueError(f"S must be square (paired test fold) with one label per row, got "
                         f"{S.shape} and {labels.shape}.")
    aps = []
    for i in range(n):
        keep = np.arange(n) != i
        ap = average_precision(S[i : i + 1, keep], labels[i : i + 1], labels[keep])[0]
        if not np.isnan(ap):
            aps.append(ap)
    return float(np.mean(aps))


def fold_rounds(n_folds: int) -> pd.DataFrame:
    """The k-fold protocol as a table: in round r, fold r is the test fold, the rest train."""
    if int(n_folds) < 2:
        raise ValueError(f"n_folds must be >= 2, got {n_folds}.")
    return pd.DataFrame([{"round": r, "fold": f, "role": "test" if f == r else "train"}
                         for r in range(int(n_folds)) for f in range(int(n_folds))])


def plot_ap_steps(steps: pd.DataFrame, ap: float) -> plt.Figure:
    """P@k at every rank of a hand-sized ranking (relevant ranks in green) and the AP they
    average to."""
    fig, ax = plt.subplots(figsize=(7.5, 3.3))
    colours = np.where(steps.rel_k == 1, "#2ca02c", "#bbbbbb")
    ax.bar(steps.rank_k, steps.precision_at_k, color=colours)
    for k, p, r in zip(steps.rank_k, steps.precision_at_k, steps.rel_k, strict=True):
        ax.text(k, p + 0.02, f"{p:.2f}" if r else "", ha="center", fontsize=8,
                bbox={"fc": "white", "ec": "none", "pad": 0.5})
    ax.axhline(ap, color="black", ls="--", lw=1, label=f"AP = {ap:.4f}")
    ax.set_xticks(steps.rank_k)
    ax.set_xlabel("rank k (green = relevant)")
    ax.set_ylabel("P@k")
    ax.set_ylim(0, 1.12)
    ax.set_title("AP averages P@k over the ranks of the relevant items")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_truncation(tables: dict[str, pd.DataFrame]) -> plt.Figure:
    """The truncated-MAP pitfall against the full-ranking MAP over the cut-off k, one panel per
    table."""
    fig, axes = plt.subplots(1, len(tables), figsize=(5 * len(tables), 3.4), squeeze=False)
    for ax, (name, t) in zip(axes[0], tables.items(), strict=True):
        ax.plot(t.k, t.truncated_map_pitfall, "o-", color="#d62728",
                label="pitfall: MAP@k, hits-in-top-k denominator")
        ax.plot(t.k, t.map_full_ranking, "k--", label="MAP, full ranking (protocol)")
        ax.set_xscale("log")
        ax.set_xlabel("cut-off k")
        ax.set_ylabel("score")
        ax.set_ylim(0, 1.05)
        ax.set_title(name, fontsize=10)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                   prevalence: float) -> plt.Figure:
    """PR curves (precision and recall averaged at the same cut-off k) beside the class
    prevalence."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, (precision, recall) in curves.items():
        ax.plot(recall, precision, label=name)
    ax.axhline(prevalence, color="0.5", ls=":", label=f"class prevalence {prevalence:.3f}")
    ax.set_xlabel("recall@k (mean over queries)")
    ax.set_ylabel("precision@k (mean over queries)")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_title("PR curves: both averaged at the same cut-off k")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_fold_diagram(n_folds: int) -> plt.Figure:
    """The cross-validation rounds as a grid: the test fold of every round in red, the training
    folds in blue."""
    table = fold_rounds(n_folds)
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * n_folds + 1.2))
    for rnd, fold, role in zip(table["round"].tolist(), table["fold"].tolist(),
                               table["role"].tolist(), strict=True):
        test = role == "test"
        ax.add_patch(Rectangle((fold, n_folds - 1 - rnd), 0.95, 0.85,
                               fc="#d62728" if test else "#9fc5e8", ec="white"))
        ax.text(fold + 0.47, n_folds - 1 - rnd + 0.42, "test" if test else "train",
                ha="center", va="center", fontsize=8, color="white" if test else "black")
    ax.set_xlim(0, n_folds)
    ax.set_ylim(0, n_folds)
    ax.set_xticks(np.arange(n_folds) + 0.47, labels=[f"fold {f}" for f in range(n_folds)])
    ax.set_yticks(np.arange(n_folds) + 0.42,
                  labels=[f"round {r}" for r in reversed(range(n_folds))])
    ax.set_title("Every fitted object (scalers, C-CCA, networks, model selection) sees the blue "
                 "folds only", fontsize=9)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


# -- where the pitfalls of public implementations are guarded --------------------------------
@dataclass(frozen=True)
class Pitfall:
    """One pitfall of public implementations, what guards against it, and the tests that check it.

    ``where`` and ``tests`` are display text for the chapter's table: dotted names of the
    library objects that implement the guard and names of the test functions that check it.
    The test-suite checks that every one of them exists; the library never reads them.
    """

    pitfall: str
    guard: str                  # what the library does
    where: tuple[str, ...]      # dotted names, e.g. "paper_lib.metrics.retrieval.average_precision"
    tests: tuple[str, ...]      # names of test functions, e.g. "test_map_is_not_truncated"


PITFALLS: tuple[Pitfall, ...] = (
    Pitfall("Truncated MAP (MAP@k with a hits-in-top-k denominator)",
            "AP divides by R, the relevant items of the whole gallery, over the full ranking",
            ("paper_lib.metrics.retrieval.average_precision",),
            ("test_map_is_not_truncated", "test_truncated_pitfall_inflates_the_hand_toy")),
    Pitfall("Metrics that depend on gallery order under ties",
            "the ranking is read through its tie groups only: AP treats a tie group as one "
            "threshold (scikit-learn), P@k, R@k, nDCG, PR curves and pair recall are expected "
            "over random orders of the tied items, MRR exactly so; a collapsed embedding scores "
            "chance",
            ("paper_lib.metrics.retrieval.average_precision",
             "paper_lib.metrics.retrieval.retrieval_report", "paper_lib.metrics.retrieval.pr_curve"),
            ("test_every_metric_is_independent_of_gallery_order_under_ties",
             "test_collapsed_embedding_scores_chance",
             "test_tie_rules_equal_the_average_over_all_orders_of_tied_items",
             "test_tie_demo_does_not_depend_on_gallery_order")),
    Pitfall("Model selection or early stopping on the test fold",
            "fixed epochs by default; with validation_fraction > 0 the validation split is "
            "carved out of the training rows only",
            ("paper_lib.methods._torch_utils.stratified_holdout",
             "paper_lib.methods.tnn.TNNCCCA"),
            ("test_validation_split_comes_from_training_rows_only",)),
    Pitfall("C-CCA or scalers fitted on data that includes the test fold",
            "the runner passes only split.train to fit; every mean, scaler and Cluster-CCA is "
            "fitted inside fit",
            ("paper_lib.experiment.evaluate_split",),
            ("test_no_test_fold_row_reaches_fit_and_views_are_embedded_separately",
             "test_transform_uses_training_means_and_each_view_alone")),
    Pitfall("Weights carried from one fold to the next",
            "a fresh estimator is built from the registry for every split and seed",
            ("paper_lib.methods.registry.get_method", "paper_lib.experiment.evaluate_split"),
            ("test_fresh_estimator_every_fold",)),
    Pitfall("Test embeddings computed from the partner modality",
            "transform embeds each view from itself; the runner calls it once per view",
            ("paper_lib.methods.base.CrossModalEstimator", "paper_lib.experiment.evaluate_split"),
            ("test_no_test_fold_row_reaches_fit_and_views_are_embedded_separately",
             "test_transform_is_per_view",
             "test_transform_depends_on_each_view_only_and_not_on_the_batch")),
    Pitfall("Dropping the last partial test batch",
            "inference keeps the last partial chunk; the whole test fold is embedded and ranked",
            ("paper_lib.methods._torch_utils.predict", "paper_lib.experiment.evaluate_split"),
            ("test_metrics_come_from_the_metrics_module_on_the_whole_test_fold",)),
    Pitfall("Fold files read in directory order",
            "fold files are read in sorted file-name order; the fold id is the file's index",
            ("paper_lib.data.formats.clip_arrays.read_clip_arrays",),
            ("test_fold_files_read_in_sorted_order",)),
    Pitfall("Hard-coded class count",
            "the class count comes from the labels (np.unique) and the data file, never a "
            "constant",
            ("paper_lib.methods.cluster_cca.ClusterCCA", "paper_lib.data.dataset.PairedDataset"),
            ("test_vegas_h5_one_hot_float_labels_and_generic_names",
             "test_cluster_cca_beats_cca_when_views_share_only_class_structure")),
    Pitfall("An explicit all-pairs matrix for the cluster cross-covariance",
            "Σ_xy from class sums: O(N·d²) time, O(d²) memory, never the Σ n_c² pairs",
            ("paper_lib.methods.cluster_cca.within_class_cross_covariance",),
            ("test_large_fit_never_builds_the_pairs",)),
)


def pitfall_table(pitfalls: Sequence[Pitfall] = PITFALLS) -> pd.DataFrame:
    """One row per :class:`Pitfall`: the pitfall, the guard against it, where it is and the tests
    that check it."""
    return pd.DataFrame([{"pitfall": p.pitfall, "guard": p.guard,
                          "where": ", ".join(f"`{w}`" for w in p.where),
                          "tests": ", ".join(f"`{t}`" for t in p.tests)} for p in pitfalls])
