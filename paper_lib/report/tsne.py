"""t-SNE maps of one test fold: raw features, C-CCA and TNN-C-CCA embeddings (the paper's t-SNE figure).

The paper shows t-SNE maps of the raw features and of the C-CCA and TNN-C-CCA embeddings of one
VEGAS test fold, coloured by class. Here:

* the **raw** audio and visual features have different widths, so each view gets its own map;
* the **learned** embeddings put audio and visual clips in one space, so the audio and visual test
  embeddings are embedded *together* in one t-SNE: a reader sees whether the two modalities mix
  (marker = modality, colour = class);
* a map is only a picture, so every panel also gets numbers measured in the embedding itself and in
  the 2-D map: k-NN class purity (fraction of a point's k nearest neighbours sharing its class) and,
  for the joint panels, a modality-mixing score (observed share of other-modality neighbours divided
  by the share expected if the modalities were perfectly mixed).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from sklearn.manifold import TSNE

from paper_lib import threads
from paper_lib.data.dataset import PairedDataset, Split
from paper_lib.experiment import SplitResult
from paper_lib.experiment.knobs import Knob, integer
from paper_lib.methods.registry import display_name
from paper_lib.metrics.similarity import Metric, similarity

# [choice] k = 10 neighbours for purity and mixing: small against a class of a test fold
# (16 per class and modality on avdigits, ~560 on VEGAS), large enough to average out noise.
DEFAULT_K = 10
# [choice] sklearn's default perplexity, lowered for tiny panels (it must stay below n).
DEFAULT_PERPLEXITY = 30.0
# [choice] learned embeddings are compared with cosine (the retrieval score); raw features with
# the Euclidean distance (no model defines a score for them; for pixels and log-mel energies the
# Euclidean distance is the usual one, while cosine would be dominated by their common offset).
RAW_METRIC: Metric = "euclidean"
EMBEDDING_METRIC: Metric = "cosine"
MODALITIES = ("audio", "visual")
#: test clips drawn for the t-SNE maps ([choice] 1,000 in the full profile; 300 quick)
TSNE_POINTS = Knob("tsne_points", 1000, quick=300, check=integer(minimum=10))
MARKERS = {"audio": "o", "visual": "^"}
#: the methods whose embeddings are mapped (raw panels come first)
EMBEDDING_METHODS = ("c_cca", "tnn_c_cca")


# ---------------------------------------------------------------------------------------------
# which fold
# ---------------------------------------------------------------------------------------------
def first_split(ds: PairedDataset, folds: Sequence[int]) -> Split:
    """The split a figure shows: the first evaluated fold (fold 0 by default) or the fixed split."""
    if not folds:
        raise ValueError("folds: at least one fold is needed")
    return next(ds.splits([int(folds[0])]))


# ---------------------------------------------------------------------------------------------
# numbers: subsampling, neighbourhoods, purity, mixing
# ---------------------------------------------------------------------------------------------
def subsample(n: int, n_points: int, seed: int) -> np.ndarray:
    """Sorted positions of ``min(n_points, n)`` items drawn without replacement (seeded)."""
    if n < 1 or n_points < 1:
        raise ValueError(f"subsample: need n >= 1 and n_points >= 1, got n={n}, n_points={n_points}")
    if n_points >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=n_points, replace=False))


def knn_weights(X: np.ndarray, k: int, metric: Metric) -> np.ndarray:
    """(n, n) weights: how much point j counts among the k nearest other points of point i.

    1 for a point strictly nearer than the k-th neighbour, 0 beyond it; the points tied with the
    k-th neighbour share the remaining places equally (the expectation over a random order of
    the tied points, the rule of :mod:`paper_lib.metrics.retrieval`), so no score depends on the
    order of the points. Every row sums to k; the diagonal is 0.
    """
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    if not 1 <= k <= n - 1:
        raise ValueError(f"k must lie in 1..n-1 = {n - 1} (points other than itself), got {k}")
    S = similarity(X, X, metric)                   # (n, n) higher = nearer
    np.fill_diagonal(S, -np.inf)                   # a point is not its own neighbour
    kth = -np.sort(-S, axis=1)[:, k - 1:k]         # (n, 1) score of the k-th neighbour
    above = S > kth                                # (n, n) strictly nearer
    tied = S == kth                                # (n, n) as near as the k-th
    share = (k - above.sum(axis=1, keepdims=True)) / tied.sum(axis=1, keepdims=True)
    return above + tied * share


def knn_class_purity(X: np.ndarray, labels: np.ndarray, k: int = DEFAULT_K,
                     metric: Metric = "euclidean") -> float:
    """Mean over points of (neighbours among the k nearest with the point's class) / k
    (tied neighbours counted by :func:`knn_weights`)."""
    labels = np.asarray(labels)
    if labels.shape != (np.asarray(X).shape[0],):
        raise ValueError(f"labels must have one entry per row of X, got {labels.shape}")
    W = knn_weights(X, k, metric)                  # (n, n), rows sum to k
    same = labels[:, None] == labels[None, :]
    return float(np.mean((W * same).sum(axis=1) / k))


def chance_purity(labels: np.ndarray) -> float:
    """Expected k-NN purity of a map where neighbours are random: Σ_c (n_c/n)·(n_c-1)/(n-1)."""
    counts = np.bincount(np.unique(np.asarray(labels), return_inverse=True)[1])
    n = counts.sum()
    if n < 2:
        raise ValueError("labels: at least two points are needed")
    return float(np.sum(counts / n * (counts - 1) / (n - 1)))


def modality_mixing(X: np.ndarray, modality: np.ndarray, k: int = DEFAULT_K,
                    metric: Metric = "euclidean") -> float:
    """How well two modalities mix: observed / expected share of other-modality neighbours.

    For point i of modality m, observed_i = (k-NN of another modality) / k and
    expected_i = n_other(m) / (n - 1), the share under perfect mixing. The score is the mean of
    observed_i / expected_i: 0 = the modalities form separate islands, about 1 = perfectly mixed
    (above 1: neighbours preferentially from the other modality, e.g. every clip beside its pair).
    """
    modality = np.asarray(modality)
    if modality.shape != (np.asarray(X).shape[0],):
        raise ValueError(f"modality must have one entry per row of X, got {modality.shape}")
    values, inverse = np.unique(modality, return_inverse=True)
    if values.size < 2:
        raise ValueError("modality: the points must come from at least two modalities")
    n = modality.size
    W = knn_weights(X, k, metric)                                               # (n, n)
    observed = (W * (modality[:, None] != modality[None, :])).sum(axis=1) / k  # (n,)
    expected = (n - np.bincount(inverse)[inverse]) / (n - 1)                   # (n,)
    return float(np.mean(observed / expected))


# ---------------------------------------------------------------------------------------------
# t-SNE panels
# ---------------------------------------------------------------------------------------------
def tsne_2d(X: np.ndarray, seed: int, metric: Metric = "euclidean",
            perplexity: float = DEFAULT_PERPLEXITY) -> np.ndarray:
    """(n, 2) t-SNE map (sklearn, PCA initialisation, fixed ``random_state``)."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < 4:
        raise ValueError(f"X: t-SNE needs a 2-d array with at least 4 rows, got shape {X.shape}")
    perp = min(perplexity, (X.shape[0] - 1) / 3.0)  # sklearn requires perplexity < n
    # [choice] one OpenMP thread: the Barnes-Hut gradient is then summed in one fixed order (the
    # same map on every machine), and on a busy 2-core machine the spinning OpenMP workers slowed
    # a 320-point map from ~2 s to 15-45 s (measured).
    with threads.single_threaded():
        return TSNE(n_components=2, init="pca", random_state=seed, metric=metric,
                    perplexity=perp, n_jobs=1).fit_transform(X)


@dataclass(frozen=True)
class Panel:
    """The points of one map: features (n, d), their class, modality and clip id."""

    name: str             # raw_audio, raw_visual, c_cca, tnn_c_cca
    title: str
    X: np.ndarray         # (n, d)
    labels: np.ndarray    # (n,) class ids
    modality: np.ndarray  # (n,) "audio" / "visual"
    clip_ids: np.ndarray  # (n,)
    metric: Metric        # how neighbours are measured in X


def build_panels(ds: PairedDataset, split: Split, results: dict[str, SplitResult],
                 rows: np.ndarray) -> list[Panel]:
    """Raw audio, raw visual, then one joint panel per method in ``results``.

    ``rows`` are positions inside the test fold (the same clips in every panel and modality);
    ``results[m].Z_audio`` / ``Z_visual`` are the test embeddings in ``split.test`` order.
    """
    test = split.test[rows]                               # dataset rows of the plotted clips
    labels, ids = ds.labels[test], np.asarray(ds.clip_ids)[test]
    n = rows.size
    panels = [Panel(f"raw_{view}", f"raw {view} ({getattr(ds, view).shape[1]}-d)",
                    getattr(ds, view)[test], labels, np.full(n, view), ids, RAW_METRIC)
              for view in MODALITIES]
    for method, res in results.items():
        if not np.array_equal(res.split.test, split.test):
            raise ValueError(f"results[{method!r}] was evaluated on {res.split.name}, not "
                             f"{split.name}")
        panels.append(Panel(
            method, f"{display_name(method)}: audio + visual "
                    f"({res.Z_audio.shape[1]}-d)",
            np.vstack([res.Z_audio[rows], res.Z_visual[rows]]), np.concatenate([labels, labels]),
            np.repeat(np.array(MODALITIES), n), np.concatenate([ids, ids]), EMBEDDING_METRIC))
    return panels


def panel_scores(panel: Panel, Y: np.ndarray, k: int = DEFAULT_K) -> list[dict[str, object]]:
    """Purity (and mixing for joint panels) in the embedding itself and in the 2-D map ``Y``."""
    k = min(k, panel.X.shape[0] - 1)
    rows: list[dict[str, object]] = []
    for space, X, metric in (("embedding", panel.X, panel.metric), ("map_2d", Y, "euclidean")):
        rows.append({"panel": panel.name, "space": space, "score": "knn_purity",
                     "value": knn_class_purity(X, panel.labels, k, metric), "k": k})
        if np.unique(panel.modality).size > 1:
            rows.append({"panel": panel.name, "space": space, "score": "modality_mixing",
                         "value": modality_mixing(X, panel.modality, k, metric), "k": k})
    rows.append({"panel": panel.name, "space": "any", "score": "chance_purity",
                 "value": chance_purity(panel.labels), "k": k})
    return rows


def tsne_tables(ds: PairedDataset, panels: Sequence[Panel], seed: int,
                k: int = DEFAULT_K) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Embed every panel; return (tidy points: panel, modality, class, x, y, clip_id; scores)."""
    points, scores = [], []
    for panel in panels:
        Y = tsne_2d(panel.X, seed, panel.metric)
        points.append(pd.DataFrame({
            "panel": panel.name, "modality": panel.modality,
            "class": [ds.class_names[c] for c in panel.labels],
            "x": Y[:, 0], "y": Y[:, 1], "clip_id": panel.clip_ids}))
        scores += panel_scores(panel, Y, k)
    return pd.concat(points, ignore_index=True), pd.DataFrame(scores)


# ---------------------------------------------------------------------------------------------
# figure
# ---------------------------------------------------------------------------------------------
def _panel_caption(name: str, scores: pd.DataFrame) -> str:
    def value(space: str, score: str) -> float | None:
        hit = scores[(scores.panel == name) & (scores.space == space) & (scores.score == score)]
        return None if hit.empty else float(hit["value"].iloc[0])

    parts = [f"purity {value('embedding', 'knn_purity'):.2f} "
             f"(chance {value('any', 'chance_purity'):.2f})"]
    mixing = value("embedding", "modality_mixing")
    if mixing is not None:
        parts.append(f"mixing {mixing:.2f}")
    return ", ".join(parts)


def plot_tsne(points: pd.DataFrame, scores: pd.DataFrame, titles: dict[str, str],
              class_order: Sequence[str]) -> plt.Figure:
    """One map per panel, two per row, 8 inches wide: colour = class, marker = modality; the k-NN
    scores under each title; one shared legend below the maps (10-point text)."""
    names = list(dict.fromkeys(points["panel"]))
    cmap = plt.get_cmap("tab10" if len(class_order) <= 10 else "tab20")
    colours = {c: cmap(i % cmap.N) for i, c in enumerate(class_order)}
    n_cols = min(2, len(names))
    n_rows = -(-len(names) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(8.0, 3.9 * n_rows + 0.9), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        sub = points[points.panel == name]
        for modality, marker in MARKERS.items():
            part = sub[sub.modality == modality]
            ax.scatter(part.x, part.y, s=14, marker=marker, alpha=0.75, linewidths=0,
                       c=[colours[c] for c in part["class"]])
        ax.set_title(f"{titles.get(name, name)}\n{_panel_caption(name, scores)}", fontsize=10)
        ax.set_xlabel("t-SNE 1", fontsize=10)
        ax.set_ylabel("t-SNE 2", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles = [Line2D([], [], ls="", marker="s", ms=8, color=colours[c], label=c)
               for c in class_order]
    handles += [Line2D([], [], ls="", marker=m, ms=8, color="grey", label=mod)
                for mod, m in MARKERS.items()]
    n_legend_rows = -(-len(handles) // 6)
    fig.legend(handles=handles, loc="lower center", ncol=6, fontsize=10, frameon=False,
               handletextpad=0.3, columnspacing=1.2)
    fig.tight_layout(rect=(0, 0.055 * n_legend_rows / n_rows + 0.01, 1, 1))
    plt.close(fig)
    return fig


def scores_view(scores: pd.DataFrame, titles: dict[str, str]) -> pd.DataFrame:
    """:func:`tsne_tables`' scores for reading: one row per panel (its title), the k-NN purity
    and modality mixing measured in the embedding and in the t-SNE map, and chance purity."""
    def value(panel: str, space: str, score: str) -> float:
        hit = scores[(scores.panel == panel) & (scores.space == space) & (scores.score == score)]
        return float("nan") if hit.empty else float(hit["value"].iloc[0])

    rows = []
    for panel in dict.fromkeys(scores["panel"]):
        rows.append({"panel": titles.get(panel, panel),
                     "purity, embedding": value(panel, "embedding", "knn_purity"),
                     "purity, t-SNE map": value(panel, "map_2d", "knn_purity"),
                     "chance purity": value(panel, "any", "chance_purity"),
                     "mixing, embedding": value(panel, "embedding", "modality_mixing"),
                     "mixing, t-SNE map": value(panel, "map_2d", "modality_mixing")})
    return pd.DataFrame(rows)
