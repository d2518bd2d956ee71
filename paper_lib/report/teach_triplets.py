"""Chapter 22 (notebook ``22_teach_triplets``): the triplet loss and triplet mining.

Triplet geometry and the hinge, the batch-all / batch-hard / random counts and active
triplets of one minibatch (the miners of ``paper_lib.methods.triplet``), the batch-all loss in
plain numpy, a 1-d projection toy showing what a hinge-less loss rewards, the TNN-C-CCA
pipeline diagram (shown by chapter 20), the training history of the library's ``TNNCCCA``, the
chapter's knobs (prefix ``triplet_``) and the computed answers of its exercises
(``exercise_*``). torch is imported lazily, inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from paper_lib.experiment.knobs import Knob, float_list, integer, number
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

def _margin_list(name: str, value: Any) -> list[float]:
    """A non-empty list of margins ≥ 0. Also accepts the text of a tuple, "(0.5, 2, 4)": the
    command line reads ``-p triplet_margins=0.5,2,4`` as a tuple, which reaches the notebook's
    parameter cell as that text."""
    if isinstance(value, str):
        value = value.strip().strip("()[]")
    return float_list(lo=0.0)(name, value)


# -- the chapter's knobs (``paper-lib reproduce --only 22_teach_triplets -p NAME=VALUE``) --------
#: the margin m of the chapter's minibatch counts, hinge-less toy and training run (the paper's)
TRIPLET_MARGIN = Knob("triplet_margin", 0.5, check=number(lo=0.0))
#: the margins drawn in the hinge figure (the margin ablation's eleven; a drawing costs nothing,
#: so the quick profile draws them all too)
TRIPLET_MARGINS = Knob("triplet_margins", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1],
                       check=_margin_list)
#: clips per minibatch B, of the counted minibatch and of the training run (the library's
#: default: the paper's ~560 batches of VEGAS)
TRIPLET_BATCH_SIZE = Knob("triplet_batch_size", 40, check=integer(minimum=2))
#: clips per class of the hinge-less toy
TRIPLET_TOY_PER_CLASS = Knob("triplet_toy_per_class", 10, check=integer(minimum=2))
#: how far (along the first axis) the third class of the hinge-less toy lies from the other two
TRIPLET_TOY_FAR = Knob("triplet_toy_far", 6.0, check=number(lo=0.0, hi=100.0))


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


# -- the batch-all loss from the (B, B) squared distances ----------------------------------------
class BatchAllStats(NamedTuple):
    """The batch-all statistics of one minibatch: the loss L (mean ℓ over the active
    triplets), the mean ℓ over all valid triplets, and how many triplets are valid / active."""

    loss: float
    mean_hinge: float
    n_triplets: int
    n_active: int

    @property
    def active_fraction(self) -> float:
        """The number of active triplets over the number of valid ones (0 for a batch without a
        valid triplet)."""
        return self.n_active / max(self.n_triplets, 1)


def batch_all_numpy(za: np.ndarray, zv: np.ndarray, y: np.ndarray, m: float) -> BatchAllStats:
    """The chapter's visible numpy lines: the batch-all loss from the (B, B) matrix of squared
    distances and two masks (audio anchors ``za`` (B, k'), visual ``zv`` (B, k'), labels
    ``y`` (B,), margin ``m``)."""
    za, zv, y = np.asarray(za, dtype=np.float64), np.asarray(zv, dtype=np.float64), np.asarray(y)
    D = ((za[:, None, :] - zv[None, :, :]) ** 2).sum(axis=-1)   # (B, B): ‖a_i − f_v(y_j)‖²
    same = y[:, None] == y[None, :]                              # (B, B): j a positive of i
    valid = same[:, :, None] & ~same[:, None, :]                 # (B, B, B): (i, j, k) valid
    ell = np.maximum(0.0, D[:, :, None] - D[:, None, :] + m)     # (B, B, B): ℓ of (i, j, k)
    ell = ell[valid]                                             # the batch-all triplets
    n_active = int((ell > 0).sum())
    L = ell.sum() / max(n_active, 1)                             # mean over ACTIVE triplets
    mean_ell = ell.sum() / max(ell.size, 1)                      # mean over ALL triplets
    return BatchAllStats(float(L), float(mean_ell), int(ell.size), n_active)


def batch_all_library(za: np.ndarray, zv: np.ndarray, y: np.ndarray, m: float) -> BatchAllStats:
    """The same statistics from ``paper_lib.methods.triplet.TripletMarginLoss`` (batch-all, the
    loss TNN-C-CCA trains with); the mean over all triplets is L × active / valid (inactive
    triplets add 0)."""
    import torch

    from paper_lib.methods.triplet import TripletMarginLoss

    out = TripletMarginLoss(margin=m)(torch.as_tensor(np.asarray(za, dtype=np.float64)),
                                      torch.as_tensor(np.asarray(zv, dtype=np.float64)),
                                      torch.as_tensor(np.asarray(y, dtype=np.int64)))
    loss = float(out.loss.detach())
    return BatchAllStats(loss, loss * out.n_active / max(out.n_triplets, 1), out.n_triplets,
                         out.n_active)


def stats_difference(a: BatchAllStats, b: BatchAllStats) -> float:
    """The largest absolute difference of the two computations (∞ if the counts differ)."""
    if (a.n_triplets, a.n_active) != (b.n_triplets, b.n_active):
        return float("inf")
    return max(abs(a.loss - b.loss), abs(a.mean_hinge - b.mean_hinge))


# -- what a hinge-less loss rewards: a 1-d projection toy -------------------------------------
def make_hinge_toy(n_per_class: int = 10, spread: float = 0.3,
                   seed: int = 0, far: float = 6.0) -> ToyViews:
    """Three classes in 2-d: two close together (centres (0, ±1)) and one far away
    (``far``, 0); the audio and visual views are two noisy copies of the same centres (nuisance
    unused: zeros)."""
    # [choice] two classes 2 apart and one 6 away, noise 0.3: the far class dominates any loss
    # that is linear in squared distances, while the close pair decides retrieval
    centres = np.array([[0.0, 1.0], [0.0, -1.0], [float(far), 0.0]])
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(3), int(n_per_class))
    Xa = centres[y] + spread * rng.normal(size=(y.size, 2))
    Xv = centres[y] + spread * rng.normal(size=(y.size, 2))
    return ToyViews(Xa, Xv, y, np.zeros((y.size, 1)))


def projection_loss_landscape(toy: ToyViews, margin: float,
                              angles: np.ndarray | None = None) -> pd.DataFrame:
    """Project both views onto the unit direction e(θ) (a 1-d embedding of bounded scale) and,
    for every θ, average over all batch-all triplets: the hinge max(0, Δ + m), the hinge-less
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
    """The direction each loss prefers (its minimum over θ) and what it gives."""
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
                         "preferred θ (°)": optima["angle"].to_numpy(),
                         "its loss": optima["loss_value"].to_numpy(),
                         "violated fraction": optima["violated_fraction"].to_numpy(),
                         "MAP A→V": optima["map_a2v"].to_numpy()})


#: decimals of :func:`optima_view`'s columns
OPTIMA_DIGITS: dict[str, int] = {"preferred θ (°)": 0, "its loss": 4, "violated fraction": 3,
                                 "MAP A→V": 3}


def history_view(history: pd.DataFrame) -> pd.DataFrame:
    """:func:`history_frame` for reading."""
    return pd.DataFrame({"epoch": history["epoch"].to_numpy(),
                         "loss (mean over active triplets)": history["loss"].to_numpy(),
                         "mean hinge (all mined triplets)": history["mean_hinge"].to_numpy(),
                         "active fraction": history["active_fraction"].to_numpy()})


# -- the figures (at most MAX_FIG_WIDTH inches wide, text of 10 pt or more) ---------------------
#: the label of the anchor-positive segment of :func:`plot_triplet_geometry` (a length: not
#: squared) and of its dashed circle (the squared radius)
SEGMENT_LABEL: str = "‖a − p‖"
CIRCLE_LABEL: str = "dashed circle: radius² = ‖a − p‖² + m"


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
    # a segment's length is a distance, ‖a − p‖; the hinge compares SQUARED distances, so the
    # dashed circle is where ‖a − n‖² = ‖a − p‖² + m: its squared radius
    ax.annotate(SEGMENT_LABEL, xy=(float(p[0]) / 2, float(p[1]) / 2), xytext=(0.25, 0.6),
                fontsize=10, arrowprops={"arrowstyle": "-", "color": "0.4"})
    lim = max(2.0, r_easy + 0.4)                    # a large margin widens the drawing
    ax.annotate(CIRCLE_LABEL, xy=(0, -r_out), xytext=(-0.95 * lim, -0.95 * lim), fontsize=10,
                arrowprops={"arrowstyle": "->", "color": "0.3"})
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-1.05 * lim, 0.95 * lim)
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
    levels = sorted({float(m) for m in margins})
    lo, hi = levels[0], levels[-1]
    delta = np.linspace(-max(1.6, hi + 0.5), 1.0, 400)      # every kink (Δ = −m) in view
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
    """Top left: the toy and the two preferred directions; top right: both losses over θ;
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
                       f"best θ, {LOSS_LABELS.get(row.loss, row.loss)}")
    ax_toy.set_aspect("equal", adjustable="datalim")
    ax_toy.set_title("toy (● audio, × visual)", fontsize=11)
    ax2 = ax_loss.twinx()
    ax_loss.plot(table.angle, table.hinge, color=colours["hinge"], label="with the hinge (left axis)")
    ax2.plot(table.angle, table.hingeless, color=colours["hingeless"], ls="--",
             label="without the hinge (right axis)")
    ax_loss.set_xlabel("direction θ (degrees)")
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
    ax_emb.set_xlabel("1-d embedding e(θ)ᵀx (audio) at each loss's preferred θ")
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
    fa = _box(ax, (0.4, 8.5), 3.6, 1.1, f"audio features x\nd$_a$ = {d_audio} per clip",
              "#cfe2f3")
    fv = _box(ax, (6.0, 8.5), 3.6, 1.1, f"visual features y\nd$_v$ = {d_visual} per clip",
              "#d9ead3")
    cc = _box(ax, (2.2, 5.9), 5.6, 1.6, f"C-CCA (β = 0.2), fitted on the training folds\n"
              f"k = {n_components}: W$_x$, W$_y$", "#fff2cc")
    ba = _box(ax, (0.2, 3.1), 3.3, 1.8, f"audio branch f$_a$\n{layers}\ntanh, dropout {dropout:g},\n"
              f"sigmoid", "#cfe2f3")
    bv = _box(ax, (6.5, 3.1), 3.3, 1.8, f"visual branch f$_v$\n{layers}\ntanh, dropout {dropout:g},\n"
              f"sigmoid", "#d9ead3")
    tl = _box(ax, (3.9, 3.2), 2.2, 1.6, f"training only:\ntriplet loss,\nmargin m = {margin:g}",
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
    """Per epoch of a TNN-C-CCA fit: left, the loss L (mean hinge over the ACTIVE triplets) and
    the mean hinge over ALL mined triplets; right, the fraction of active triplets (their ratio:
    mean hinge ≈ L × active fraction)."""
    fig, axes = plt.subplots(1, 2, figsize=(MAX_FIG_WIDTH, 3.9), layout="constrained")
    axes[0].plot(history.epoch, history.loss, "s-", color="#9467bd",
                 label="L: mean over active triplets")
    axes[0].plot(history.epoch, history.mean_hinge, "o-", color="#1f77b4",
                 label="mean ℓ over all mined triplets")
    axes[0].set_ylabel("hinge ℓ, averaged")
    axes[0].set_ylim(bottom=0)
    axes[1].plot(history.epoch, history.active_fraction, "o-", color="#d62728",
                 label="active fraction (ℓ > 0)")
    axes[1].set_ylabel("fraction of active triplets")
    axes[1].set_ylim(0, 1.02)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.set_xticks(history.epoch)
    fig.legend(loc="outside lower center", ncol=3)
    fig.suptitle(f"TNN-C-CCA training on {dataset} (first fold's training rows, batch-all)",
                 fontsize=11)
    return fig


# -- the exercises' inputs and computed answers (each checked independently in the tests) --------
#: exercise 1: the class counts n_c of a batch (B = their sum)
EX_CLASS_COUNTS: tuple[int, ...] = (4, 3, 2, 1)
#: exercise 2 (and 4): a hand-sized batch of four clips with 1-d embeddings, and its margin
EX_TOY_AUDIO: tuple[float, ...] = (0.0, 0.3, 1.0, 1.2)
EX_TOY_VISUAL: tuple[float, ...] = (0.1, 0.5, 0.8, 1.6)
EX_TOY_LABELS: tuple[int, ...] = (0, 0, 1, 1)
EX_TOY_MARGIN: float = 0.5
#: exercise 3: one active triplet in the plane, and its margin
EX_GRAD_A: tuple[float, float] = (0.0, 0.0)
EX_GRAD_P: tuple[float, float] = (1.0, 0.0)
EX_GRAD_N: tuple[float, float] = (0.5, 0.5)
EX_GRAD_MARGIN: float = 0.5
#: exercise 5: the margins at which the trained minibatch is re-scored
EX_MARGINS: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 1.0)
#: exercise 6: the scales s of the 1-d toy embedding
EX_SCALES: tuple[float, ...] = (1.0, 2.0, 4.0)
#: exercise 7: the batch sizes of a balanced batch (and the number of classes C)
EX_BATCH_SIZES: tuple[int, ...] = (40, 80)
EX_N_CLASSES: int = 10


def labels_from_counts(class_counts: Sequence[int]) -> np.ndarray:
    """Labels 0, 0, …, 1, 1, … with ``class_counts[c]`` clips of class c."""
    return np.repeat(np.arange(len(class_counts)), [int(n) for n in class_counts])


def exercise_batch_all_count(class_counts: Sequence[int]) -> int:
    """Exercise 1: the batch-all triplets of a batch with these class counts,
    Σ_c n_c · n_c · (B − n_c) (audio anchors, visual positives, visual negatives)."""
    counts = np.asarray([int(n) for n in class_counts], dtype=np.int64)
    B = int(counts.sum())
    return int(np.sum(counts * counts * (B - counts)))


def exercise_triplet_table(za: Sequence[float], zv: Sequence[float], labels: Sequence[int],
                           margin: float) -> pd.DataFrame:
    """Exercise 2: every batch-all triplet (i, j, k) of a batch with 1-d embeddings: the two
    squared distances, ℓ and whether it is active (ℓ > 0); anchors in order, then positives,
    then negatives."""
    a = np.asarray(za, dtype=np.float64)
    z = np.asarray(zv, dtype=np.float64)
    y = np.asarray(labels)
    rows = []
    for i in range(y.size):
        for j in np.flatnonzero(y == y[i]):
            for k in np.flatnonzero(y != y[i]):
                d_ap, d_an = (a[i] - z[j]) ** 2, (a[i] - z[k]) ** 2
                ell = max(0.0, d_ap - d_an + margin)
                rows.append({"anchor": i, "positive": int(j), "negative": int(k),
                             "d_ap": float(d_ap), "d_an": float(d_an), "ell": ell,
                             "active": bool(ell > 0)})
    return pd.DataFrame(rows)


def triplet_table_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`exercise_triplet_table` for reading (clips numbered from 1)."""
    return pd.DataFrame({"anchor i": table["anchor"].to_numpy() + 1,
                         "positive j": table["positive"].to_numpy() + 1,
                         "negative k": table["negative"].to_numpy() + 1,
                         "‖a − p‖²": table["d_ap"].to_numpy(),
                         "‖a − n‖²": table["d_an"].to_numpy(),
                         "ℓ": table["ell"].to_numpy(),
                         "active": ["yes" if v else "no" for v in table["active"]]})


#: decimals of :func:`triplet_table_view`
TRIPLET_TABLE_DIGITS: dict[str, int] = {"‖a − p‖²": 2, "‖a − n‖²": 2, "ℓ": 2}


def exercise_gradient(a: Sequence[float], p: Sequence[float], n: Sequence[float],
                      margin: float) -> pd.DataFrame:
    """Exercise 3: the gradient of ℓ(a, p, n) with respect to a, p and n, by torch's autograd
    and by the closed form of an active triplet (∂ℓ/∂a = 2(n − p), ∂ℓ/∂p = 2(p − a),
    ∂ℓ/∂n = 2(a − n); all zero when the triplet is inactive)."""
    import torch

    t = {name: torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True)
         for name, v in (("a", a), ("p", p), ("n", n))}
    ell = torch.relu(((t["a"] - t["p"]) ** 2).sum() - ((t["a"] - t["n"]) ** 2).sum() + margin)
    ell.backward()
    av, pv, nv = (np.asarray(v, dtype=np.float64) for v in (a, p, n))
    active = float(ell.detach()) > 0
    closed = {"a": 2 * (nv - pv), "p": 2 * (pv - av), "n": 2 * (av - nv)}
    rows = []
    for name in ("a", "p", "n"):
        grad = t[name].grad
        auto = np.zeros_like(av) if grad is None else grad.numpy()
        form = closed[name] if active else np.zeros_like(av)
        rows.append({"variable": name, "closed_form": form, "autograd": auto,
                     "difference": float(np.max(np.abs(form - auto)))})
    return pd.DataFrame(rows)


def vector_text(v: Sequence[float] | np.ndarray) -> str:
    """A short vector as "(x, y)" (6 decimals at most, no "-0")."""
    return "(" + ", ".join(f"{x:g}" for x in np.round(np.asarray(v, dtype=float), 6) + 0.0) + ")"


def gradient_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`exercise_gradient` for reading: vectors as "(x, y)"."""
    return pd.DataFrame({"gradient of ℓ with respect to": table["variable"].to_numpy(),
                         "closed form": [vector_text(v) for v in table["closed_form"]],
                         "autograd": [vector_text(v) for v in table["autograd"]]})


def exercise_loss_identity(history: pd.DataFrame) -> pd.DataFrame:
    """Exercise 4: per epoch, the recorded loss (the mean over the epoch's minibatches of L) and
    mean hinge / active fraction (the mean of the batches' L weighted by their active
    triplets): equal for one minibatch per epoch, close otherwise."""
    return pd.DataFrame({"epoch": history["epoch"].to_numpy(),
                         "loss": history["loss"].to_numpy(),
                         "hinge_over_fraction": (history["mean_hinge"]
                                                 / history["active_fraction"]).to_numpy()})


def exercise_active_by_margin(za: np.ndarray, zv: np.ndarray, labels: np.ndarray,
                              margins: Sequence[float]) -> pd.DataFrame:
    """Exercise 5: one minibatch's batch-all statistics (fixed embeddings) at several margins."""
    rows = []
    for m in margins:
        stats = batch_all_numpy(za, zv, labels, float(m))
        rows.append({"margin": float(m), "active": stats.n_active,
                     "active_fraction": stats.active_fraction, "loss": stats.loss,
                     "mean_hinge": stats.mean_hinge})
    return pd.DataFrame(rows)


def active_by_margin_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`exercise_active_by_margin` for reading."""
    return pd.DataFrame({"margin m": table["margin"].to_numpy(),
                         "active": table["active"].to_numpy(),
                         "active fraction": table["active_fraction"].to_numpy(),
                         "L (mean over active)": table["loss"].to_numpy(),
                         "mean ℓ (all)": table["mean_hinge"].to_numpy()})


#: decimals of :func:`active_by_margin_view`
ACTIVE_BY_MARGIN_DIGITS: dict[str, int] = {"margin m": 2, "active fraction": 3,
                                           "L (mean over active)": 4, "mean ℓ (all)": 4}


def exercise_scaling(toy: ToyViews, angle: float, margin: float,
                     scales: Sequence[float]) -> pd.DataFrame:
    """Exercise 6: the toy projected on e(``angle``) and scaled by α: the hinge-less loss
    (mean Δ + m), the hinge (mean ℓ) and the violated fraction over all batch-all triplets."""
    w = unit_vector(angle)
    rows = []
    for s in scales:
        za, zv = float(s) * (toy.audio @ w), float(s) * (toy.visual @ w)      # (N,) each
        D = (za[:, None] - zv[None, :]) ** 2                                   # (N, N)
        same = toy.labels[:, None] == toy.labels[None, :]
        valid = same[:, :, None] & ~same[:, None, :]
        delta = (D[:, :, None] - D[:, None, :])[valid]                          # (T,)
        rows.append({"scale": float(s), "hingeless": float(hingeless(delta, margin).mean()),
                     "hinge": float(hinge(delta, margin).mean()),
                     "violated_fraction": float(np.mean(delta > 0))})
    return pd.DataFrame(rows)


def scaling_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`exercise_scaling` for reading."""
    return pd.DataFrame({"scale α": table["scale"].to_numpy(),
                         "without the hinge: mean Δ + m": table["hingeless"].to_numpy(),
                         "with the hinge: mean ℓ": table["hinge"].to_numpy(),
                         "violated fraction": table["violated_fraction"].to_numpy()})


#: decimals of :func:`scaling_view`
SCALING_DIGITS: dict[str, int] = {"scale α": 0, "without the hinge: mean Δ + m": 3,
                                  "with the hinge: mean ℓ": 4, "violated fraction": 3}


def exercise_balanced_count(batch_size: int, n_classes: int) -> int:
    """Exercise 7: batch-all triplets of a balanced batch, C classes of B/C clips each:
    C · (B/C)² · (B − B/C) = B³ (C − 1) / C²."""
    B, C = int(batch_size), int(n_classes)
    if B % C:
        raise ValueError(f"a balanced batch needs batch_size divisible by n_classes, got "
                         f"{B} and {C}.")
    return B ** 3 * (C - 1) // C ** 2
