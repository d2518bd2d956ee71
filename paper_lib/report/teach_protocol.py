"""Chapter 23 (notebook ``23_teach_protocol``): the evaluation protocol.

What MAP counts on a hand-made ranking (exact fractions), the AP of a random ranking (exact
expectation and simulation), the truncated-MAP pitfall, tied scores (no number may depend on
gallery order), the query's own pair, PR curves, the fold protocol with what leaks when a scaler
or Cluster-CCA sees the test fold, the table of pitfalls of public implementations with the
library object that guards each and the tests that check it, and the numeric answers of the
chapter's exercises. Every metric comes from ``paper_lib.metrics``; the only one written here is
the flawed :func:`truncated_map_pitfall`, kept to show the inflation it causes.

Symbols follow the book's notation page: a query ranks the G gallery items, R of them relevant;
rank j, P@j and rel_j; the cut-off of a truncated ranking is K (k is the number of components).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from paper_lib.errors import ParamError
from paper_lib.experiment.knobs import Knob, integer, number
from paper_lib.metrics.cross_modal import audio_visual_scores
from paper_lib.metrics.retrieval import (
    average_precision,
    mean_average_precision,
    precision_at_k,
    relevance,
)
from paper_lib.report._teaching_common import MAX_FIG_WIDTH
from paper_lib.report._teaching_common import mean_prevalence as mean_prevalence

#: the hand-made ranking of 10 gallery items: 1 = same class as the query (R = 5)
HAND_RELEVANCE: tuple[int, ...] = (1, 0, 1, 1, 0, 0, 1, 0, 0, 1)

# -- the chapter's knobs (``-p NAME=VALUE``; the same value in both profiles) -------------------
#: the cut-off K of the truncated "MAP@K" the chapter quotes on the dataset (and marks in its
#: figure). [choice] 10: the cut-off public code most often truncates at
PROTOCOL_CUTOFF = Knob("protocol_cutoff", 10, check=integer(minimum=1))
#: the gallery size G of the random-ranking toy. [choice] 40 items with 4 relevant: the class
#: share of ten balanced classes, in a gallery small enough that AP's excess over R/G shows
PROTOCOL_RANDOM_GALLERY = Knob("protocol_random_gallery", 40, check=integer(minimum=2))
#: the number R of relevant items in the random-ranking toy (at most G)
PROTOCOL_RANDOM_RELEVANT = Knob("protocol_random_relevant", 4, check=integer(minimum=1))
#: the fold whose test clips the chapter ranks (its training folds are the fit's rows)
PROTOCOL_FOLD = Knob("protocol_fold", 0, check=integer(minimum=0))
#: the share of the test fold that leaks into the fit of the scaler (one row of the leakage
#: table) and of Cluster-CCA (another row). [choice] 1.0: the whole test fold, the common bug
PROTOCOL_LEAK_SHARE = Knob("protocol_leak_share", 1.0, check=number(0.0, 1.0))

#: random rankings drawn per case of :func:`random_ranking_row` (the simulation column).
#: [choice] 4000: the simulated mean is then within about 0.005 of the exact expectation
RANDOM_DRAWS: int = 4000


def check_fold(fold: int, n_folds: int) -> int:
    """``fold`` if the dataset has it (0 .. n_folds - 1), else a :class:`ParamError` naming the
    knob ``protocol_fold``."""
    if not 0 <= int(fold) < int(n_folds):
        raise ParamError(f"protocol_fold: fold {fold} does not exist; allowed: 0..{n_folds - 1}")
    return int(fold)


def hand_toy(rel: Sequence[int] = HAND_RELEVANCE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One query (class 1) and a gallery ranked exactly in the given order: (S (1, n),
    q_labels (1,), g_labels (n,)); relevant items have class 1, the others class 0."""
    rel_arr = np.asarray(rel, dtype=np.int64)
    if rel_arr.ndim != 1 or rel_arr.size == 0 or not np.isin(rel_arr, (0, 1)).all():
        raise ValueError(f"rel must be a non-empty sequence of 0/1, got {rel!r}.")
    S = -np.arange(rel_arr.size, dtype=np.float64)[None, :]   # strictly decreasing scores
    return S, np.array([1]), rel_arr


def ap_steps(rel: Sequence[int] = HAND_RELEVANCE) -> pd.DataFrame:
    """AP step by step: rank j (column ``rank_k``), rel_j, hits in the top j, P@j = hits/j and
    P@j·rel_j."""
    r = np.asarray(rel, dtype=np.int64)
    k = np.arange(1, r.size + 1)
    hits = np.cumsum(r)
    return pd.DataFrame({"rank_k": k, "rel_k": r, "hits_at_k": hits, "precision_at_k": hits / k,
                         "precision_x_rel": hits / k * r})


def hand_ap(rel: Sequence[int] = HAND_RELEVANCE) -> Fraction:
    """AP = (1/R) Σ_j P@j·rel_j as an exact fraction (R = number of relevant items)."""
    r = [int(v) for v in rel]
    R = sum(r)
    if R == 0:
        raise ValueError("rel has no relevant item: AP is undefined.")
    hits, total = 0, Fraction(0)
    for k, v in enumerate(r, start=1):
        hits += v
        total += Fraction(hits, k) * v
    return total / R


def check_random_toy(n_gallery: int, n_relevant: int) -> tuple[int, int]:
    """The random-ranking toy's (G, R) if 1 <= R <= G, else a :class:`ParamError` naming the
    knobs."""
    if not 1 <= int(n_relevant) <= int(n_gallery):
        raise ParamError(f"protocol_random_relevant: must lie in 1..protocol_random_gallery = "
                         f"{n_gallery}, got {n_relevant}")
    return int(n_gallery), int(n_relevant)


def expected_random_ap(n_gallery: int, n_relevant: int) -> Fraction:
    """The exact expected AP of a uniformly random ranking of G items of which R are relevant:

        E[AP] = (R - 1)/(G - 1) + H_G (G - R) / (G (G - 1)),   H_G = 1 + 1/2 + ... + 1/G

    (for G = 1: 1). It follows from E[rel_j] = R/G and E[rel_i rel_j] = R(R-1)/(G(G-1)) for
    i != j, summed in AP = (1/R) sum_j rel_j (1 + sum_{i<j} rel_i) / j. It exceeds the class share
    R/G by about H_G / G (1 - R/G): chance-level AP is the class share only for large galleries.
    """
    G, R = check_random_toy(n_gallery, n_relevant)
    if G == 1:
        return Fraction(1)
    harmonic = sum(Fraction(1, j) for j in range(1, G + 1))
    return Fraction(R - 1, G - 1) + harmonic * Fraction(G - R, G * (G - 1))


def toy_labels(n_gallery: int, n_relevant: int) -> tuple[np.ndarray, np.ndarray]:
    """The random-ranking toy as labels: one query (class 1) and G gallery items, the first R of
    class 1 (relevant), the others of class 0."""
    G, R = check_random_toy(n_gallery, n_relevant)
    return np.array([1]), (np.arange(G) < R).astype(np.int64)


def expected_random_map(q_labels: np.ndarray, g_labels: np.ndarray) -> float:
    """The exact expected MAP of random rankings: :func:`expected_random_ap` of each query's
    (G, R), averaged over the queries with R > 0."""
    counts = np.bincount(g_labels, minlength=int(max(q_labels.max(), g_labels.max())) + 1)
    R = counts[q_labels]
    R = R[R > 0]
    values, n = np.unique(R, return_counts=True)
    exact = {int(v): float(expected_random_ap(g_labels.size, int(v))) for v in values}
    return float(sum(exact[int(v)] * c for v, c in zip(values, n, strict=True)) / R.size)


def simulate_random_map(q_labels: np.ndarray, g_labels: np.ndarray,
                        n_draws: int = RANDOM_DRAWS, seed: int = 0) -> float:
    """The library's MAP of random rankings: every query repeated until about ``n_draws``
    queries, each scoring the gallery with independent uniform random numbers (no ties)."""
    reps = max(1, -(-int(n_draws) // q_labels.size))               # ceil(n_draws / n_q)
    q = np.tile(q_labels, reps)
    S = np.random.default_rng(seed).random((q.size, g_labels.size))
    return mean_average_precision(S, q, g_labels)


def random_ranking_row(case: str, q_labels: np.ndarray, g_labels: np.ndarray,
                       n_draws: int = RANDOM_DRAWS, seed: int = 0) -> dict[str, object]:
    """One row of the random-ranking table: G, the mean R over the queries, the class share
    (mean R/G), the exact expected MAP of random rankings (:func:`expected_random_map`), its
    simulation with the library, and the library's MAP when every score is tied (exactly the
    class share)."""
    counts = np.bincount(g_labels, minlength=int(max(q_labels.max(), g_labels.max())) + 1)
    return {"case": case, "G": int(g_labels.size), "R": float(np.mean(counts[q_labels])),
            "class_share": mean_prevalence(q_labels, g_labels),
            "expected_ap": expected_random_map(q_labels, g_labels),
            "simulated_ap": simulate_random_map(q_labels, g_labels, n_draws, seed),
            "all_tied_ap": mean_average_precision(
                np.zeros((q_labels.size, g_labels.size)), q_labels, g_labels)}


def truncated_ap(rel: Sequence[int], cutoff: int) -> Fraction:
    """The truncated score of one ranked 0/1 list at cut-off K, as an exact fraction: the mean
    of P@j over the relevant ranks j <= K (0 when none is relevant)."""
    r = [int(v) for v in rel][: int(cutoff)]
    hits, total = 0, Fraction(0)
    for j, v in enumerate(r, start=1):
        hits += v
        total += Fraction(hits, j) * v
    return total / hits if hits else Fraction(0)


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


def rows_without_ties(S: np.ndarray) -> np.ndarray:
    """(n_q,) bool: the query rows in which no score value repeats (where any ranking of the
    row, stable or not, gives the same AP)."""
    S_sorted = np.sort(S, axis=1)
    return ~(np.diff(S_sorted, axis=1) == 0).any(axis=1)


# -- what leaks when a fitted step sees the test fold ------------------------------------------
def zscore(X: np.ndarray, fit_rows: np.ndarray) -> np.ndarray:
    """``X`` standardised (per feature) with the mean and standard deviation of ``X[fit_rows]``
    only (a constant feature keeps scale 1): a scaler fitted on ``fit_rows``."""
    mean = X[fit_rows].mean(axis=0)
    std = X[fit_rows].std(axis=0)
    return (X - mean) / np.where(std > 0, std, 1.0)


def leaked_rows(test: np.ndarray, share: float, seed: int = 0) -> np.ndarray:
    """``round(share · n_test)`` test rows, drawn at random (sorted): what leaks into a fit."""
    n = int(round(float(share) * test.size))
    return np.sort(np.random.default_rng(seed).permutation(test)[:n])


#: the rows of :func:`leakage_table`: (key, what is fitted on the training folds plus leaked
#: test rows)
LEAK_SETTINGS: tuple[str, ...] = ("protocol", "scaler", "c_cca")


def leakage_table(audio: np.ndarray, visual: np.ndarray, labels: np.ndarray, train: np.ndarray,
                  test: np.ndarray, *, share: float, seed: int = 0,
                  dim: int = 10) -> pd.DataFrame:
    """The A→V MAP on ``test`` of one pipeline, a z-score scaler per view followed by
    C-CCA (β = 0.2) (method ``c_cca``, built by the runner's
    :func:`~paper_lib.experiment.evaluate.build_estimator`), in three settings:

    * ``protocol``: scaler and C-CCA (β = 0.2) fitted on ``train`` only;
    * ``scaler``: the scaler fitted on ``train`` plus a ``share`` of the test rows
      (:func:`leaked_rows`; it sees their features, never their labels), C-CCA (β = 0.2) on
      ``train``;
    * ``c_cca``: the scaler on ``train``, C-CCA (β = 0.2) fitted on ``train`` plus the same
      leaked test rows, with their labels.

    The test fold is then embedded view by view and ranked as in the protocol. With
    ``share = 0`` all three rows are the protocol (the same number).
    """
    from paper_lib.experiment.evaluate import build_estimator
    from paper_lib.report._teaching_common import embed_per_view

    leak = leaked_rows(test, share, seed)
    both = np.concatenate([train, leak])
    y = labels[test]
    rows = []
    for key in LEAK_SETTINGS:
        scaler_rows = both if key == "scaler" else train
        fit_rows = both if key == "c_cca" else train
        A, V = zscore(audio, scaler_rows), zscore(visual, scaler_rows)
        est = build_estimator("c_cca", dim, seed, 1, None)
        est.fit(A[fit_rows], V[fit_rows], labels[fit_rows])
        Z_a, Z_v = embed_per_view(est, A[test], V[test])
        rows.append({"setting": key, "scaler_rows": int(scaler_rows.size),
                     "c_cca_rows": int(fit_rows.size),
                     "scaler_test_rows": int(scaler_rows.size - train.size),
                     "c_cca_test_rows": int(fit_rows.size - train.size),
                     "map_a2v": mean_average_precision(audio_visual_scores(Z_a, Z_v), y, y)})
    return pd.DataFrame(rows)


# -- the exercises' numeric answers --------------------------------------------------------------
#: exercise 1 (and 3): a ranked list of G = 8 gallery items, R = 3 relevant
EXERCISE_RELEVANCE: tuple[int, ...] = (0, 1, 1, 0, 0, 1, 0, 0)
#: exercise 3: the cut-offs K at which the truncated score is compared with AP
EXERCISE_CUTOFFS: tuple[int, ...] = (2, 3, 8)
#: exercise 4: one query's scores over six gallery items (two tie groups) and their relevance
EXERCISE_TIE_SCORES: tuple[float, ...] = (0.9, 0.7, 0.7, 0.7, 0.2, 0.2)
EXERCISE_TIE_RELEVANCE: tuple[int, ...] = (0, 1, 0, 1, 1, 0)


def exercise_truncation(rel: Sequence[int] = EXERCISE_RELEVANCE,
                        cutoffs: Sequence[int] = EXERCISE_CUTOFFS) -> pd.DataFrame:
    """Exercise 3: per cut-off K, the list's AP (the library, full ranking) and the truncated
    score (:func:`truncated_map_pitfall` on the same list), both as the library computes them."""
    S, q, g = hand_toy(rel)
    return pd.DataFrame([{"K": int(k), "ap_full": float(average_precision(S, q, g)[0]),
                          "truncated": truncated_map_pitfall(S, q, g, int(k))}
                         for k in cutoffs])


def exercise_ties(scores: Sequence[float] = EXERCISE_TIE_SCORES,
                  rel: Sequence[int] = EXERCISE_TIE_RELEVANCE) -> dict[str, float]:
    """Exercise 4: the library's AP and P@2 of one query with tied scores, and the AP a ranking
    that keeps tied items in gallery order (a stable sort) would give."""
    S = np.asarray(scores, dtype=np.float64)[None, :]
    g = np.asarray(rel, dtype=np.int64)
    q = np.array([1])
    stable = g[np.argsort(-S[0], kind="stable")]
    return {"ap": float(average_precision(S, q, g)[0]),
            "p_at_2": precision_at_k(S, q, g, 2),
            "ap_stable_sort": float(hand_ap(stable.tolist()))}


# -- the tables as the chapter shows them ------------------------------------------------------
def steps_view(steps: pd.DataFrame) -> pd.DataFrame:
    """:func:`ap_steps` for reading (the notation's rank j)."""
    return pd.DataFrame({"rank j": steps["rank_k"].to_numpy(),
                         "rel_j": steps["rel_k"].to_numpy(),
                         "hits in the top j": steps["hits_at_k"].to_numpy(),
                         "P@j": steps["precision_at_k"].to_numpy(),
                         "P@j · rel_j": steps["precision_x_rel"].to_numpy()})


TRUNCATED, FULL = "truncated MAP@K (the pitfall)", "MAP, full ranking (the protocol)"


def truncation_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`truncation_table` for reading: the cut-off K first. With a ``method`` column (one
    table per method stacked), one truncated column per method, in the table's order."""
    if "method" not in table.columns:
        return pd.DataFrame({"K": table["k"].to_numpy(), FULL: table["map_full_ranking"].to_numpy(),
                             TRUNCATED: table["truncated_map_pitfall"].to_numpy()})
    methods = list(dict.fromkeys(table["method"]))
    wide = table.pivot(index="k", columns="method", values="truncated_map_pitfall")
    view = pd.DataFrame({"K": wide.index.to_numpy()})
    for m in methods:
        view[f"{m}: {TRUNCATED}"] = wide[m].to_numpy()
    return view


def tie_view(ties: pd.DataFrame) -> pd.DataFrame:
    """:func:`tie_demo` for reading."""
    return pd.DataFrame({"gallery order": ties["gallery_order"].to_numpy(),
                         "gallery labels (1 = relevant)": ties["gallery_labels"].to_numpy(),
                         "AP, tied items kept in gallery order": ties["ap_gallery_order_rule"]
                         .to_numpy(),
                         "AP (library)": ties["ap"].to_numpy(),
                         "P@2 (library)": ties["p_at_2"].to_numpy()})


def random_ranking_view(table: pd.DataFrame) -> pd.DataFrame:
    """A table of :func:`random_ranking_row` rows for reading."""
    return pd.DataFrame({"case": table["case"].to_numpy(),
                         "G": table["G"].to_numpy(),
                         "R (mean over queries)": [f"{r:g}" for r in table["R"]],
                         "class share R/G": table["class_share"].to_numpy(),
                         "expected AP of a random ranking (exact)":
                         table["expected_ap"].to_numpy(),
                         "mean AP of simulated random rankings": table["simulated_ap"].to_numpy(),
                         "AP when every score is tied": table["all_tied_ap"].to_numpy()})


def leakage_view(table: pd.DataFrame, share: float) -> pd.DataFrame:
    """:func:`leakage_table` for reading: what each setting fits on, and the A→V MAP."""
    from paper_lib.methods.registry import get_method

    c_cca = get_method("c_cca").paper_name
    leak = f"the training folds + {share:.0%} of the held-out fold"
    what = {"protocol": f"scaler and {c_cca} fitted on the training folds only",
            "scaler": f"scaler fitted on {leak} (features only); {c_cca} on the training folds",
            "c_cca": f"scaler on the training folds; {c_cca} fitted on {leak} (with its labels)"}
    return pd.DataFrame({"setting": [what[k] for k in table["setting"]],
                         "held-out clips the scaler saw": table["scaler_test_rows"].to_numpy(),
                         f"held-out clips {c_cca} saw": table["c_cca_test_rows"].to_numpy(),
                         "MAP A→V": table["map_a2v"].to_numpy()})


def partner_view(partner: pd.DataFrame) -> pd.DataFrame:
    """The own-partner table (method, map_protocol, map_without_own_partner) for reading."""
    return pd.DataFrame({"method": partner["method"].to_numpy(),
                         "MAP A→V (protocol)": partner["map_protocol"].to_numpy(),
                         "MAP A→V without the own partner": partner["map_without_own_partner"]
                         .to_numpy()})


# -- the figures (at most MAX_FIG_WIDTH inches wide, text of 10 pt or more) ---------------------
def plot_ap_steps(steps: pd.DataFrame, ap: float) -> plt.Figure:
    """P@j at every rank of a hand-sized ranking (relevant ranks in green) and the AP they
    average to."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8), layout="constrained")
    colours = np.where(steps.rel_k == 1, "#2ca02c", "#bbbbbb")
    ax.bar(steps.rank_k, steps.precision_at_k, color=colours)
    for k, p, r in zip(steps.rank_k, steps.precision_at_k, steps.rel_k, strict=True):
        ax.text(k, p + 0.02, f"{p:.2f}" if r else "", ha="center", fontsize=10,
                bbox={"fc": "white", "ec": "none", "pad": 0.5})
    ax.axhline(ap, color="black", ls="--", lw=1, label=f"AP = {ap:.4f}")
    ax.set_xticks(steps.rank_k)
    ax.set_xlabel("rank j (green = relevant)")
    ax.set_ylabel("P@j")
    ax.set_ylim(0, 1.15)
    ax.set_title("AP averages P@j over the ranks of the relevant items", fontsize=11)
    ax.legend(loc="upper right", framealpha=1.0)
    return fig


def plot_truncation(tables: dict[str, pd.DataFrame], cutoff: int | None = None) -> plt.Figure:
    """The truncated-MAP pitfall against the full-ranking MAP over the cut-off K, one panel per
    table (one legend below the panels); a dotted vertical line marks ``cutoff`` if given."""
    fig, axes = plt.subplots(1, len(tables), figsize=(MAX_FIG_WIDTH, 3.9), squeeze=False,
                             sharey=True, layout="constrained")
    for ax, (name, t) in zip(axes[0], tables.items(), strict=True):
        ax.plot(t.k, t.truncated_map_pitfall, "o-", color="#d62728",
                label="the pitfall: MAP@K with a hits-in-top-K denominator")
        ax.plot(t.k, t.map_full_ranking, "k--", label="MAP over the full ranking (the protocol)")
        if cutoff is not None:
            ax.axvline(cutoff, color="0.4", ls=":", lw=1.2,
                       label=f"the cut-off quoted in the text, K = {cutoff}")
        ax.set_xscale("log")
        ax.set_xlabel("cut-off K")
        ax.set_ylim(0, 1.05)
        ax.set_title(name, fontsize=10)
    axes[0, 0].set_ylabel("score")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center")
    return fig


def plot_pr_curves(curves: dict[str, tuple[np.ndarray, np.ndarray]],
                   prevalence: float) -> plt.Figure:
    """PR curves (precision and recall averaged at the same cut-off j) beside the class
    prevalence."""
    fig, ax = plt.subplots(figsize=(6.4, 4.4), layout="constrained")
    for name, (precision, recall) in curves.items():
        ax.plot(recall, precision, label=name)
    ax.axhline(prevalence, color="0.5", ls=":", label=f"class prevalence {prevalence:.3f}")
    ax.set_xlabel("recall in the top j (mean over queries)")
    ax.set_ylabel("P@j (mean over queries)")
    ax.set_xlim(0, 1.01)
    ax.set_ylim(0, 1.02)
    ax.set_title("PR curves: both averaged at the same cut-off j", fontsize=11)
    ax.legend(loc="upper right")
    return fig


def plot_fold_diagram(n_folds: int) -> plt.Figure:
    """The cross-validation rounds as a grid: the test fold of every round in red, the training
    folds in blue."""
    table = fold_rounds(n_folds)
    fig, ax = plt.subplots(figsize=(7.5, 0.6 * n_folds + 1.3), layout="constrained")
    for rnd, fold, role in zip(table["round"].tolist(), table["fold"].tolist(),
                               table["role"].tolist(), strict=True):
        test = role == "test"
        ax.add_patch(Rectangle((fold, n_folds - 1 - rnd), 0.95, 0.85,
                               fc="#d62728" if test else "#9fc5e8", ec="white"))
        ax.text(fold + 0.47, n_folds - 1 - rnd + 0.42, "test" if test else "train",
                ha="center", va="center", fontsize=10, color="white" if test else "black")
    ax.set_xlim(0, n_folds)
    ax.set_ylim(0, n_folds)
    ax.set_xticks(np.arange(n_folds) + 0.47, labels=[f"fold {f}" for f in range(n_folds)])
    ax.set_yticks(np.arange(n_folds) + 0.42,
                  labels=[f"round {r}" for r in reversed(range(n_folds))])
    ax.tick_params(length=0)
    ax.set_title("Every fitted object (scalers, Cluster-CCA, networks, model selection)\n"
                 "sees the blue training folds only", fontsize=11)
    for side in ("top", "right", "left", "bottom"):
        ax.spines[side].set_visible(False)
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
    Pitfall("Truncated MAP (MAP@K with a hits-in-top-K denominator)",
            "AP divides by R, the relevant items of the whole gallery, over the full ranking",
            ("paper_lib.metrics.retrieval.average_precision",),
            ("test_map_is_not_truncated", "test_truncated_pitfall_inflates_the_hand_toy")),
    Pitfall("Metrics that depend on gallery order under ties",
            "the ranking is read through its tie groups only: AP treats a tie group as one "
            "threshold (scikit-learn), P@K, R@K, nDCG, PR curves and pair recall are expected "
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
    Pitfall("Cluster-CCA or scalers fitted on data that includes the test fold",
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
            r"$\Sigma_{xy}^{\mathrm{cl}}$ from the class sums: $O(N(d_a+d_v)^2)$ time, "
            r"$O((d_a+d_v)^2)$ memory, never the $M = \sum_c n_c^2$ pairs",
            ("paper_lib.methods.cluster_cca.within_class_cross_covariance",),
            ("test_large_fit_never_builds_the_pairs",)),
)


def pitfall_table(pitfalls: Sequence[Pitfall] = PITFALLS) -> pd.DataFrame:
    """One row per :class:`Pitfall` (the data behind the chapter's table): the pitfall, the guard
    against it, where it is and the tests that check it (names separated by ", ")."""
    return pd.DataFrame([{"pitfall": p.pitfall, "guard": p.guard, "where": ", ".join(p.where),
                          "tests": ", ".join(p.tests)} for p in pitfalls])


def _short_name(dotted: str) -> str:
    """``paper_lib.metrics.retrieval.average_precision`` → ``metrics.retrieval.average_precision``:
    every guard lives in the library, so its name need not repeat it."""
    return dotted.removeprefix("paper_lib.")


def pitfall_view(pitfalls: Sequence[Pitfall] = PITFALLS) -> pd.DataFrame:
    """The pitfall table as the chapter shows it: narrow, two columns, the pitfall and one
    column with the guard, where it lives (in ``paper_lib``) and the tests that check it, the
    names as Markdown code spans (they render inside a pipe table)."""
    def guard(p: Pitfall) -> str:
        where = ", ".join(f"`{_short_name(w)}`" for w in p.where)
        tests = ", ".join(f"`{t}`" for t in p.tests)
        return f"{p.guard}. **Where:** {where}. **Tests:** {tests}."

    return pd.DataFrame({"pitfall": [p.pitfall for p in pitfalls],
                         "what the library does, where, and the tests that check it":
                         [guard(p) for p in pitfalls]})
