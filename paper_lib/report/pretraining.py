"""How the book shows the pretrained feature stage of ``avdigits-pretrained``: the two networks
with their pretraining corpora and held-out accuracies, and what the letters look like.

The reports are those stored with the dataset
(:func:`paper_lib.data.avdigits_pretrained.pretraining_reports`), computed when the networks were
trained (or read back with their cached weights); nothing here trains or scores anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

#: the row of each network, with what it mirrors in the paper
NETWORKS: dict[str, tuple[str, str, str]] = {
    "audio": ("audio network (VGGish-style CNN)", "spoken words, not digits",
              "VGGish on YouTube audio"),
    "visual": ("image network (small CNN)", "rendered letters, not digit look-alikes",
               "Inception V3 on ImageNet"),
}


def reports_table(reports: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per network: the corpus, its classes, items trained on and held out, the
    training settings and the accuracies (held-out first: the pretraining accuracy)."""
    rows = []
    for view in ("audio", "visual"):
        if view not in reports:
            continue
        r = reports[view]
        network, corpus, mirrors = NETWORKS[view]
        spec = r.get("spec", {})
        rows.append({"view": view, "network": network, "corpus": corpus, "mirrors": mirrors,
                     "n_classes": len(r["classes"]), "classes": " ".join(r["classes"]),
                     "n_train": int(r["n_train"]), "n_held_out": int(r["n_held_out"]),
                     "epochs": int(spec.get("epochs", 0)),
                     "batch_size": int(spec.get("batch_size", 0)),
                     "lr": float(spec.get("lr", float("nan"))),
                     "held_out_accuracy": float(r["held_out_accuracy"]),
                     "train_accuracy": float(r["train_accuracy"])})
    return pd.DataFrame(rows)


def reports_view(table: pd.DataFrame) -> pd.DataFrame:
    """The networks' table for reading."""
    return pd.DataFrame({
        "network": table["network"], "pretrained on": table["corpus"],
        "classes": table["n_classes"], "train / held out": [
            f"{a:,} / {b:,}" for a, b in zip(table["n_train"], table["n_held_out"], strict=True)],
        "epochs": table["epochs"],
        "held-out accuracy": [f"{v:.3f}" for v in table["held_out_accuracy"]],
        "training accuracy": [f"{v:.3f}" for v in table["train_accuracy"]],
        "stands for": table["mirrors"]})


def plot_letter_samples(images: np.ndarray, labels: np.ndarray, letters: tuple[str, ...],
                        per_letter: int = 3) -> plt.Figure:
    """The first ``per_letter`` images of every letter class, one column per class (white on
    black, as MNIST), the class above each column."""
    n = len(letters)
    fig, axes = plt.subplots(per_letter, n, figsize=(0.45 * n, 0.5 * per_letter + 0.3))
    axes = np.atleast_2d(axes)
    for j, letter in enumerate(letters):
        rows = np.flatnonzero(labels == j)[:per_letter]
        for i in range(per_letter):
            ax = axes[i, j]
            if i < rows.size:
                ax.imshow(images[rows[i]], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(letter, fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.05, left=0.01, right=0.99, top=0.85, bottom=0.02)
    return fig


__all__ = ["NETWORKS", "plot_letter_samples", "reports_table", "reports_view"]
