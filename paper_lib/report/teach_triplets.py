"""Chapter 22 (notebook ``22_teach_triplets``): the triplet loss and triplet mining.

Triplet geometry and the hinge, the batch-all / batch-hard / random counts and active
triplets of one minibatch (the miners of ``paper_lib.methods.triplet``), a 1-d projection toy
showing what a hinge-less loss rewards, the TNN-C-CCA pipeline diagram and the training
history of the library's ``TNNCCCA``. torch is imported lazily, inside the functions that
need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from paper_lib.metrics.cross_modal import scores
from paper_lib.metrics.retrieval import mean_average_precision
from paper_lib.report._teaching_common import (
    CLASS_COLOURS,
    MAX_FIG_WIDTH,
    ToyViews,
    draw_direction,
    unit_vector,
)

if TYPE_CHECKING:  # torch is imported lazily: only these functions need it
    from torch import nn

    from paper_lib.methods.triplet import TripletMiner


def hinge(delta: np.ndarray, margin: float) -> np.ndarray:
    """max(0, Δ + m), Δ = ‖a − p‖² − ‖a − n‖² (the paper's loss per triplet)."""
    return np.maximum(0.0, np.asarray(delta, dtype=np.float64) + margin)


def hingeless(delta: np.ndarray, margin: float) -> np.ndarray:
    """Δ + m without the hinge (the authors' last script): unbounded below."""
    return np.asarray(delta, dtype=np.float64) + margin


def valid_triplet_count(labels: np.ndarray) -> int:
    """Batch-all count: Σ_i n_pos(i)·n_neg(i) = Σ_c n_c · n_c · (B − n_c) (the anchor's own
    partner is one of its n_c positives)."""
    counts = np.unique(np.asarray(labels), return_counts=True)[1].astype(np.int64)
    B = int(counts.sum())
    return int(np.sum(counts * counts * (B - counts)))


def anchors_with_negative(labels: np.ndarray) -> int:
    """Batch-hard and random mining: one triplet per anchor that has a negative in the batch
    (all B anchors unless the batch holds a single class)."""
    labels = np.asarray(labels)
    return int(labels.size) if np.unique(labels).size > 1 else 0


def class_count_table(labels: np.ndarray) -> pd.DataFrame:
    """Per class of a batch: anchors n_c, positives per anchor n_c, negatives B − n_c and the
    batch-all triplets n_c²(B − n_c)."""
    classes, counts = np.unique(np.asarray(labels), return_counts=True)
    B = int(counts.sum())
    return pd.DataFrame({"class": classes, "anchors": counts, "positives_per_anchor": counts,
                         "negatives_per_anchor": B - counts,
                         "batch_all_triplets": counts * counts * (B - counts)})


def teaching_miners(seed: int) -> dict[str, TripletMiner]:
    """The three miners of ``paper_lib.methods.triplet``, by the names the chapter uses."""
    from paper_lib.methods.triplet import BatchAllMiner, BatchHardMiner, RandomMiner

    return {"batch-all": BatchAllMiner(), "batch-hard": BatchHardMiner(),
            "random": RandomMiner(seed)}


def formula_count(miner: str, labels: np.ndarray) -> int:
    """How many triplets ``miner`` must return for a batch with these labels."""
    if miner == "batch-all":
        return valid_triplet_count(labels)
    if miner in ("batch-hard", "random"):
        return anchors_with_negative(labels)
    raise ValueError(f"miner must be one of batch-all, batch-hard, random; got {miner!r}.")


def mined_counts(z_audio: np.ndarray, z_visual: np.ndarray, labels: np.ndarray, margin: float,
                 seed: int = 0) -> pd.DataFrame:
    """For one batch of embeddings: per miner, the triplets mined (and the formula's count), the
    active ones (hinge > 0) and the mean hinge over the mined triplets."""
    import torch

    from paper_lib.methods.triplet import triplet_hinge

    A = torch.as_tensor(np.asarray(z_audio, dtype=np.float64))
    V = torch.as_tensor(np.asarray(z_visual, dtype=np.float64))
    Y = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    rows = []
    for name, miner in teaching_miners(seed).items():
        trip = miner.mine(A, V, Y)
        values = triplet_hinge(A, V, trip, margin)
        n = int(values.numel())
        rows.append({"miner": name, "triplets": n, "formula": formula_count(name, labels),
                     "active": int((values > 0).sum()),
                     "active_fraction": float((values > 0).sum()) / max(n, 1),
                     "mean_hinge": float(values.mean()) if n else 0.0})
    return pd.DataFrame(rows)


def batch_rows(n_rows: int, batch_size: int, seed: int) -> np.ndarray:
    """Row indices of one minibatch: the first ``batch_size`` of a seeded permutation."""
    if not 1 <= int(batch_size) <= int(n_rows):
        raise ValueError(f"batch_size must be in 1..{n_rows}, got {batch_size}.")
    return np.sort(np.random.default_rng(seed).permutation(int(n_rows))[: int(batch_size)])


def untrained_branches(d_in_audio: int, d_in_visual: int, seed: int, hidden: int = 100,
                       n_hidden_layers: int = 3, out_dim: int = 10,
                       dropout: float = 0.1) -> tuple[nn.Module, nn.Module]:
    """Both branches as ``TNNCCCA(random_state=seed)`` initialises them before training (same
    builder, same seeded RNG, same order: audio first)."""
    from paper_lib.methods._torch_utils import seeded
    from paper_lib.methods.tnn import make_branch

    with seeded(int(seed)):
        branch_a = make_branch(d_in_audio, hidden, n_hidden_layers, out_dim, dropout)
        branch_v = make_branch(d_in_visual, hidden, n_hidden_layers, out_dim, dropout)
    return branch_a.eval(), branch_v.eval()


def branch_outputs(branch: nn.Module, H: np.ndarray) -> np.ndarray:
    """A branch's outputs (eval mode: no dropout) for inputs H (n, d_in)."""
    import torch

    branch.eval()
    with torch.no_grad():
        return branch(torch.as_tensor(H, dtype=torch.float32)).double().numpy()


def history_frame(history: Sequence[dict[str, float]]) -> pd.DataFrame:
    """``TNNCCCA.history_`` as a table, one row per epoch."""
    return pd.DataFrame(list(history))[["epoch", "loss", "mean_hinge", "active_fraction"]]


# -- what a hinge-less loss rewards: a 1-d projection toy -------------------------------------
def make_hinge_toy(n_per_class: int = 10, spread: float = 0.3,
                   seed: int = 0) -> ToyViews:
    """Three classes in 2-d: two close together (centres (0, ±1)) and one far away (6, 0); the
    audio and visual views are two noisy copies of the same centres (nuisance unused: zeros)."""
    # [choice] two classes 2 apart and one 6 away, noise 0.3: the far class dominates any loss
    # that is linear in squared distances, while the close pair decides retrieval
    centres = np.array([[0.0, 1.0], [0.0, -1.0], [6.0, 0.0]])
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), int(n_per_class))
    Xa = centres[y] + spread * rng.normal(size=(y.size, 2))
    Xv = centres[y] + spread * rng.normal(size=(y.size, 2))
    return ToyViews(Xa, Xv, y, np.zeros((y.size, 1)))


def projection_loss_landscape(toy: ToyViews, margin: float,
                              angles: np.ndarray | None = None) -> pd.DataFrame:
    """Project both views onto the unit direction u(φ) (a 1-d embedding of bounded scale) and,
    for every φ, average over all batch-all triplets: the hinge max(0, Δ + m), the hinge-less
    Δ + m, the fraction of violated triplets (Δ > 0), and the A→V MAP (negative Euclidean
    distance: in 1-d the cosine only sees the sign)."""
    import torch

    from paper_lib.methods.triplet import BatchAllMiner, squared_distances

    angles = np.arange(0.0, 180.0, 1.0) if angles is None else np.asarray(angles, dtype=float)
    Y = torch.as_tensor(toy.labels)
    rows = []
    for phi in angles:
        u = unit_vector(phi)
        za, zv = toy.audio @ u[:, None], toy.visual @ u[:, None]          # (N, 1) each
        A, V = torch.as_tensor(za), torch.as_tensor(zv)
        i, j, k = BatchAllMiner().mine(A, V, Y)
        D = squared_distances(A, V)
        delta = (D[i, j] - D[i, k]).numpy()                               # (T,)
        S = scores(za, zv, "a2v", metric="euclidean")                     # (N, N) A→V
        rows.append({"angle": float(phi), "hinge": float(hinge(delta, margin).mean()),
                     "hingeless": float(hingeless(delta, margin).mean()),
                     "violated_fraction": float(np.mean(delta > 0)),
                     "map_a2v": mean_average_precision(S, toy.labels, toy.labels)})
    return pd.DataFrame(rows)


def landscape_optima(table: pd.DataFrame) -> pd.DataFrame:
    """The direction each loss prefers (its minimum over φ) and what it gives."""
    rows = []
    for loss in ("hinge", "hingeless"):
        best = table.loc[table[loss].idxmin()]
        rows.append({"loss": loss, "angle": float(best.angle), "loss_value": float(best[loss]),
                     "violated_fraction": float(best.violated_fraction),
                     "map_a2v": float(best.map_a2v)})
    return pd.DataFrame(rows)


# -- the tables as the chapter shows them ------------------------------------------------------
#: how the tables name the two losses of :func:`landscape_optima`
LOSS_LABELS: dict[str, str] = {"hinge": "with the hinge", "hingeless": "without the hinge"}


def class_count_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`class_count_table` for reading, with a total row (B anchors, the batch-all
    count)."""
    view = pd.DataFrame({"class": [str(c) for c in table["class"]],
                         "anchors n_c": table["anchors"].to_numpy(),
                         "positives per anchor": table["positives_per_anchor"].to_numpy(),
                         "negatives per anchor": table["negatives_per_anchor"].to_numpy(),
                         "batch-all triplets": table["batch_all_triplets"].to_numpy()})
    total = {"class": "total", "anchors n_c": int(table["anchors"].sum()),
             "positives per anchor": np.nan, "negatives per anchor": np.nan,
             "batch-all triplets": int(table["batch_all_triplets"].sum())}
    return pd.concat([view, pd.DataFrame([total])], ignore_index=True)


#: decimals of :func:`class_count_view` (the per-anchor counts are whole numbers, shown as
#: floats only because the total row leaves them blank)
CLASS_COUNT_DIGITS: dict[str, int] = {"positives per anchor": 0, "negatives per anchor": 0}


def mined_counts_view(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`mined_counts` (with an optional ``stage`` column) for reading."""
    view = pd.DataFrame({"stage": counts["stage"].to_numpy()} if "stage" in counts else {})
    view["miner"] = counts["miner"].to_numpy()
    view["triplets mined"] = counts["triplets"].to_numpy()
    view["formula"] = counts["formula"].to_numpy()
    view["active"] = counts["active"].to_numpy()
    view["active fraction"] = counts["active_fraction"].to_numpy()
    view["mean hinge"] = counts["mean_hinge"].to_numpy()
    return view


def optima_view(optima: pd.DataFrame) -> pd.DataFrame:
    """:func:`landscape_optima` for reading."""
    return pd.DataFrame({"loss": [LOSS_LABELS.get(v, v) for v in optima["loss"]],
                         "preferred φ (°)": optima["angle"].to_numpy(),
                         "its loss": optima["loss_value"].to_numpy(),
                         "violated fraction": optima["violated_fraction"].to_numpy(),
                         "MAP A→V": optima["map_a2v"].to_numpy()})


#: decimals of :func:`optima_view`'s columns
OPTIMA_DIGITS: dict[str, int] = {"preferred φ (°)": 0, "its loss": 4, "violated fraction": 3,
                                 "MAP A→V": 3}


def history_view(history: pd.DataFrame) -> pd.DataFrame:
    """:func:`history_frame` for reading."""
    return pd.DataFrame({"epoch": history["epoch"].to_numpy(),
                         "loss (mean over active triplets)": history["loss"].to_numpy(),
                         "mean hinge (all mined triplets)": history["mean_hinge"].to_numpy(),
                         "active fraction": history["active_fraction"].to_numpy()})


# -- the figures (at most MAX_FIG_WIDTH inches wide, text of 10 pt or more) ---------------------
def plot_triplet_geometry(margin: float) -> plt.Figure:
    """Anchor, positive, and negatives in the three zones the squared-distance hinge defines
    (legend below the drawing)."""
    fig, ax = plt.subplots(figsize=(6.4, 7.0), layout="constrained")
    a = np.array([0.0, 0.0])
    p = np.array([0.9, 0.35])
    centre = (float(a[0]), float(a[1]))
    d_ap2 = float(p @ p)
    r_in, r_out = float(np.sqrt(d_ap2)), float(np.sqrt(d_ap2 + margin))
    ax.add_patch(Circle(centre, r_out, color="#ffdd99", alpha=0.6, zorder=0))
    ax.add_patch(Circle(centre, r_in, color="#ff9999", alpha=0.6, zorder=1))
    ax.add_patch(Circle(centre, r_out, fill=False, ls="--", color="0.3"))
    # one negative per zone, placed at a squared distance inside that zone
    r_semi, r_easy = np.sqrt(d_ap2 + margin / 2), 1.45 * r_out
    negatives = {"hard (Δ > 0)": (0.6 * r_in * unit_vector(220.0), "#d62728"),
                 "semi-hard (−m < Δ ≤ 0)": (r_semi * unit_vector(145.0), "#ff7f0e"),
                 "easy (Δ ≤ −m): loss 0": (r_easy * unit_vector(-50.0), "#2ca02c")}
    ax.scatter(a[0], a[1], s=160, c="black", marker="*", zorder=5, label="anchor a (audio)")
    ax.scatter(p[0], p[1], s=90, c="#1f77b4", zorder=5, label="positive p (visual, same class)")
    ax.plot([a[0], p[0]], [a[1], p[1]], color="#1f77b4", lw=1.5)
    for label, (n, colour) in negatives.items():
        ax.scatter(n[0], n[1], s=90, c=colour, marker="s", zorder=5, label=f"negative: {label}")
        ax.plot([a[0], n[0]], [a[1], n[1]], color=colour, lw=1, ls=":")
    ax.annotate("‖a − p‖²", xy=(float(p[0]) / 2, float(p[1]) / 2), xytext=(0.25, 0.6),
                fontsize=10, arrowprops={"arrowstyle": "-", "color": "0.4"})
    ax.annotate("‖a − n‖² = ‖a − p‖² + m", xy=(0, -r_out), xytext=(-1.9, -1.9), fontsize=10,
                arrowprops={"arrowstyle": "->", "color": "0.3"})
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2.1, 1.9)
    ax.set_aspect("equal")
    ax.set_title(f"Triplet geometry, margin m = {margin:g} (on squared distances)", fontsize=11)
    fig.legend(loc="outside lower center", ncol=2)
    ax.set_xlabel("embedding dimension 1")
    ax.set_ylabel("embedding dimension 2")
    return fig


def plot_hinge(margins: Sequence[float], paper_margin: float = 0.5) -> plt.Figure:
    """The loss of one triplet as a function of Δ = ‖a − p‖² − ‖a − n‖², one hinge per margin
    coloured on a sequential scale (colour bar: the margin), the paper's margin drawn thick and
    the hinge-less loss dashed; the legend sits below the axes, where it hides no curve."""
    delta = np.linspace(-1.6, 1.0, 400)
    levels = sorted({float(m) for m in margins})
    lo, hi = levels[0], levels[-1]
    norm = Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)
    cmap = plt.get_cmap("viridis")
    fig, ax = plt.subplots(figsize=(7.2, 4.8), layout="constrained")
    for m in levels:
        paper = np.isclose(m, paper_margin)
        ax.plot(delta, hinge(delta, m), color=cmap(norm(m)), lw=3.0 if paper else 1.4,
                zorder=3 if paper else 2,
                label=f"hinge, m = {m:g} (the paper's margin)" if paper else None)
    ax.plot(delta, hingeless(delta, paper_margin), color="black", ls="--", lw=1.3, zorder=4,
            label=f"no hinge: Δ + {paper_margin:g}")   # on top where it equals the paper's hinge
    ax.axhline(0, color="0.6", lw=0.8)
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set_xlabel("Δ = ‖a − p‖² − ‖a − n‖²  (negative = correctly ordered)")
    ax.set_ylabel("loss of the triplet")
    ax.set_title("The hinge stops at Δ = −m; without it the loss keeps rewarding", fontsize=11)
    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="margin m")
    if len(levels) <= 12:
        bar.set_ticks(levels)
    fig.legend(loc="outside lower center", ncol=2)
    return fig


def plot_loss_landscape(toy: ToyViews, table: pd.DataFrame, optima: pd.DataFrame) -> plt.Figure:
    """Top left: the toy and the two preferred directions; top right: both losses over φ;
    bottom: the 1-d embeddings each loss prefers."""
    fig = plt.figure(figsize=(MAX_FIG_WIDTH, 7.6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(1.35, 1.0))
    ax_toy, ax_loss = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    ax_emb = fig.add_subplot(grid[1, :])
    colours = {"hinge": "#1f77b4", "hingeless": "#d62728"}
    for c in np.unique(toy.labels):
        rows = toy.labels == c
        ax_toy.scatter(toy.audio[rows, 0], toy.audio[rows, 1], s=12, color=CLASS_COLOURS(c))
        ax_toy.scatter(toy.visual[rows, 0], toy.visual[rows, 1], s=12, marker="x",
                       color=CLASS_COLOURS(c))
    centre = toy.audio.mean(axis=0)
    for _, row in optima.iterrows():
        draw_direction(ax_toy, centre, unit_vector(row.angle), 3.5, colours[row.loss],
                       f"best φ, {LOSS_LABELS.get(row.loss, row.loss)}")
    ax_toy.set_aspect("equal", adjustable="datalim")
    ax_toy.set_title("toy (● audio, × visual)", fontsize=11)
    ax2 = ax_loss.twinx()
    ax_loss.plot(table.angle, table.hinge, color=colours["hinge"], label="with the hinge (left axis)")
    ax2.plot(table.angle, table.hingeless, color=colours["hingeless"], ls="--",
             label="without the hinge (right axis)")
    ax_loss.set_xlabel("direction φ (degrees)")
    ax_loss.set_ylabel("mean hinge", color=colours["hinge"])
    ax2.set_ylabel("mean Δ + m", color=colours["hingeless"])
    ax_loss.set_title("loss of the 1-d projection", fontsize=11)
    for i, (_, row) in enumerate(optima.iterrows()):
        z = toy.audio @ unit_vector(row.angle)
        for c in np.unique(toy.labels):
            zc = z[toy.labels == c]
            ax_emb.scatter(zc, np.full(zc.size, i) + 0.08 * (c - 1), s=12,
                           color=CLASS_COLOURS(c), label=f"class {c}" if i == 0 else None)
    ax_emb.set_yticks(range(len(optima)),
                      labels=[f"{LOSS_LABELS.get(r.loss, r.loss)}\nviolated "
                              f"{r.violated_fraction:.0%}" for r in optima.itertuples()])
    ax_emb.set_ylim(-0.6, len(optima) - 0.4)
    ax_emb.set_xlabel("1-d embedding u(φ)ᵀx (audio) at each loss's preferred φ")
    ax_emb.set_title("the embedding each loss prefers", fontsize=11)
    handles = [*ax_toy.get_legend_handles_labels()[0], *ax_loss.get_legend_handles_labels()[0],
               *ax2.get_legend_handles_labels()[0], *ax_emb.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncol=3)
    return fig


def _box(ax: plt.Axes, xy: tuple[float, float], w: float, h: float, text: str, colour: str,
         dashed: bool = False) -> tuple[float, float, float, float]:
    ax.add_patch(FancyBboxPatch(xy, w, h, boxstyle="round,pad=0.02", fc=colour, ec="0.2",
                                lw=1.2, ls="--" if dashed else "-"))
    ax.text(xy[0] + w / 2, xy[1] + h / 2, text, ha="center", va="center", fontsize=10)
    return xy[0], xy[1], w, h


def _link(ax: plt.Axes, start: tuple[float, float], end: tuple[float, float],
          dashed: bool = False) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.3,
                                 color="0.2", ls="--" if dashed else "-"))


def plot_pipeline_diagram(d_audio: int, d_visual: int, n_components: int = 10,
                          hidden: int = 100, n_hidden_layers: int = 3, out_dim: int = 10,
                          dropout: float = 0.1, margin: float = 0.5) -> plt.Figure:
    """Boxes and arrows, top to bottom: features → Cluster-CCA → two branches (+ the triplet
    loss between them, in training) → cosine ranking."""
    layers = "–".join(str(v) for v in [n_components] + [hidden] * n_hidden_layers + [out_dim])
    fig, ax = plt.subplots(figsize=(7.2, 7.2), layout="constrained")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.axis("off")
    fa = _box(ax, (0.4, 8.5), 3.6, 1.1, f"audio features\n{d_audio}-d per clip", "#cfe2f3")
    fv = _box(ax, (6.0, 8.5), 3.6, 1.1, f"visual features\n{d_visual}-d per clip", "#d9ead3")
    cc = _box(ax, (2.2, 5.9), 5.6, 1.6, f"Cluster-CCA (fitted on the training folds)\n"
              f"d = {n_components}: W$_a$, W$_v$", "#fff2cc")
    ba = _box(ax, (0.2, 3.1), 3.3, 1.8, f"audio branch\n{layers}\ntanh, dropout {dropout:g},\n"
              f"sigmoid", "#cfe2f3")
    bv = _box(ax, (6.5, 3.1), 3.3, 1.8, f"visual branch\n{layers}\ntanh, dropout {dropout:g},\n"
              f"sigmoid", "#d9ead3")
    tl = _box(ax, (3.9, 3.2), 2.2, 1.6, f"training only:\ntriplet loss,\nmargin {margin:g}",
              "#f4cccc", dashed=True)
    rk = _box(ax, (2.2, 0.3), 5.6, 1.6, "cosine similarity: rank the whole\ntest fold "
              "(A→V and V→A)", "#ead1dc")
    _link(ax, (fa[0] + fa[2] / 2, fa[1]), (cc[0] + 0.9, cc[1] + cc[3]))
    _link(ax, (fv[0] + fv[2] / 2, fv[1]), (cc[0] + cc[2] - 0.9, cc[1] + cc[3]))
    _link(ax, (cc[0] + 0.9, cc[1]), (ba[0] + ba[2] / 2, ba[1] + ba[3]))
    _link(ax, (cc[0] + cc[2] - 0.9, cc[1]), (bv[0] + bv[2] / 2, bv[1] + bv[3]))
    _link(ax, (ba[0] + ba[2] / 2, ba[1]), (rk[0] + 0.9, rk[1] + rk[3]))
    _link(ax, (bv[0] + bv[2] / 2, bv[1]), (rk[0] + rk[2] - 0.9, rk[1] + rk[3]))
    _link(ax, (ba[0] + ba[2], ba[1] + ba[3] / 2), (tl[0], tl[1] + tl[3] / 2), dashed=True)
    _link(ax, (bv[0], bv[1] + bv[3] / 2), (tl[0] + tl[2], tl[1] + tl[3] / 2), dashed=True)
    ax.text(5.0, 2.45, "each view is embedded from itself only", fontsize=10, style="italic",
            ha="center")
    ax.set_title("TNN-C-CCA: the pipeline")
    return fig


def plot_training_history(history: pd.DataFrame, dataset: str) -> plt.Figure:
    """Mean hinge and fraction of active triplets per epoch of a TNN-C-CCA fit."""
    fig, axes = plt.subplots(1, 2, figsize=(MAX_FIG_WIDTH, 3.6), layout="constrained")
    axes[0].plot(history.epoch, history.mean_hinge, "o-")
    axes[0].set_ylabel("mean hinge over mined triplets")
    axes[1].plot(history.epoch, history.active_fraction, "o-", color="#d62728")
    axes[1].set_ylabel("fraction of active triplets")
    axes[1].set_ylim(0, 1.02)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_xticks(history.epoch)
    fig.suptitle(f"TNN-C-CCA training on {dataset} (first fold's training rows, batch-all)",
                 fontsize=11)
    return fig
