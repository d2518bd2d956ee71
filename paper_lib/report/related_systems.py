"""The "Related systems" chapter: VM-NET, AVE-Net, S-DCCA and TNN-C-CCA under each one's protocol.

Each system of the paper's lineage was published with its own protocol:

- **VM-NET** (Hong et al. 2018): Recall@K of the *true partner* (is the video's own music among
  the first K?), records ``pair_r@k``;
- **AVE-Net** (Arandjelović and Zisserman 2018): class-based nDCG@30, across and within
  modalities (``ndcg@30``; A→A and V→V from :func:`~paper_lib.metrics.cross_modal.intra_modal_report`);
- **S-DCCA** and **TNN-C-CCA** (this paper's line): class MAP over the full ranking (``map``).

All numbers come from the runner's records (:func:`paper_lib.experiment.grid.run_configs`, one
metrics module) on the same folds; nothing here computes a metric of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from paper_lib.data.dataset import PairedDataset
from paper_lib.experiment.grid import Config, run_configs
from paper_lib.experiment.result import SplitResult
from paper_lib.metrics.cross_modal import DIRECTION_LABELS, intra_modal_report
from paper_lib.report.tables import MISSING, mean_std


@dataclass(frozen=True)
class System:
    """One related system: the registry's method name, how the paper names it, what it learns
    from, and the protocol its own paper reports."""

    method: str
    name: str
    learns_from: str
    protocol: str


SYSTEMS: tuple[System, ...] = (
    System("vm_net", "VM-NET", "pairs (no class labels), clip features",
           "Recall@K of the true partner"),
    System("ave_net", "AVE-Net", "pairs (no class labels), raw log-mel spectrograms and images",
           "class nDCG@30, across and within modalities"),
    System("c_dcca", "S-DCCA", "class labels, clip features", "class MAP"),
    System("tnn_c_cca", "TNN-C-CCA", "class labels, clip features", "class MAP"),
)
#: the cut-offs K of the true-pair recall and of the class precision shown in the figure
KS = (1, 5, 10, 30, 100)


def systems_for(ds: PairedDataset) -> tuple[list[System], list[str]]:
    """The systems that can run on ``ds`` and a message for each one skipped (AVE-Net needs
    the raw media, which only the embedded ``avdigits`` dataset keeps)."""
    media = ds.media or {}
    has_media = "waveforms" in media and "images" in media
    kept = [s for s in SYSTEMS if s.method != "ave_net" or has_media]
    skipped = [] if has_media else [
        f"AVE-Net is skipped: {ds.name} keeps no raw media (waveforms and images); it learns "
        f"from log-mel spectrograms and images, which only the embedded avdigits dataset keeps."]
    return kept, skipped


def run_related(ds: PairedDataset, systems: Sequence[System], *, folds: Sequence[int],
                seed: int, epochs: int, dim: int = 10, log: Any = None
                ) -> tuple[pd.DataFrame, list[SplitResult]]:
    """Every system on every fold (cached fits: S-DCCA and TNN-C-CCA are the main table's)."""
    configs = [Config(s.method, dim=dim, epochs=epochs) for s in systems]
    return run_configs(ds, configs, folds=folds, seeds=(seed,), cache=True, log=log)


#: the protocol table's metrics (record names) and their headers
PROTOCOL_METRICS: tuple[tuple[str, str], ...] = (
    ("pair_r@1", "R@1"), ("pair_r@5", "R@5"), ("pair_r@10", "R@10"), ("map", "MAP"),
    ("ndcg@30", "nDCG@30"))
#: how the index kinds of :func:`index_comparison` read
INDEX_NAMES = {"exact": "exact (inner product)", "ivf": "IVF (approximate)",
               "hnsw": "HNSW (approximate)"}


def systems_view(systems: Sequence[System]) -> pd.DataFrame:
    """The systems compared: name, what each learns from, the protocol its own paper reports."""
    return pd.DataFrame([{"system": s.name, "learns from": s.learns_from,
                          "its paper's protocol": s.protocol} for s in systems])


def _std(values: pd.Series) -> float:
    return float(values.std(ddof=1)) if len(values) > 1 else 0.0


def protocol_summary(records: pd.DataFrame, systems: Sequence[System]) -> pd.DataFrame:
    """Mean, std (ddof = 1; 0 for one fold) and number of folds of every protocol's metric
    (:data:`PROTOCOL_METRICS`) per system and direction, from the runner's records; a metric
    not in the records is absent (no row)."""
    rows = []
    for s in systems:
        sub = records[records["method"] == s.method]
        for d in ("a2v", "v2a"):
            for metric, _ in PROTOCOL_METRICS:
                values = sub[(sub["metric"] == metric) & (sub["direction"] == d)]["value"]
                if len(values):
                    rows.append({"system": s.name, "direction": d, "metric": metric,
                                 "mean": float(values.mean()), "std": _std(values),
                                 "n": int(len(values))})
    return pd.DataFrame(rows, columns=["system", "direction", "metric", "mean", "std", "n"])


def _summary_view(summary: pd.DataFrame, metrics: Sequence[tuple[str, str]],
                  directions: Sequence[str], label: dict[str, str]) -> pd.DataFrame:
    """One row per system and direction (directions grouped), one column per metric: mean ± std
    on one line, the best mean of each direction in bold, :data:`~paper_lib.report.tables.MISSING` where not measured."""
    systems = list(dict.fromkeys(summary["system"]))
    rows = []
    for d in directions:
        part = summary[summary["direction"] == d]
        best = part.groupby("metric")["mean"].max()
        for system in systems:
            row: dict[str, Any] = {"system": system, "direction": label.get(d, d)}
            for metric, header in metrics:
                hit = part[(part["system"] == system) & (part["metric"] == metric)]
                if hit.empty:
                    row[header] = MISSING
                    continue
                mean, std = float(hit["mean"].iloc[0]), float(hit["std"].iloc[0])
                cell = mean_std(mean, std)
                row[header] = f"**{cell}**" if mean == best[metric] else cell
            rows.append(row)
    return pd.DataFrame(rows)


def protocol_view(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`protocol_summary` for reading: system, direction (A→V rows, then V→A), then the
    true-pair Recall@1/5/10, class MAP and class nDCG@30, each mean ± std over folds, the best
    of each direction in bold."""
    return _summary_view(summary, PROTOCOL_METRICS, ("a2v", "v2a"), DIRECTION_LABELS)


def intra_modal_records(results: Sequence[SplitResult], systems: Sequence[System],
                        ks: tuple[int, ...] = (30,)) -> pd.DataFrame:
    """A→A and V→V retrieval (leave-one-out, class relevance) of each fit's test embeddings:
    one row per system, direction and fold with its MAP and nDCG@k."""
    names = {s.method: s.name for s in systems}
    rows: list[dict[str, Any]] = []
    for res in results:
        if res.method not in names:
            continue
        for view, Z in (("a2a", res.Z_audio), ("v2v", res.Z_visual)):
            report = intra_modal_report(Z, res.labels, ks=ks, metric=res.metric)
            rows.extend({"system": names[res.method], "direction": view, "fold": res.split.name,
                         "metric": metric, "value": float(value)}
                        for metric, value in report.items())
    return pd.DataFrame(rows, columns=["system", "direction", "fold", "metric", "value"])


def intra_modal_view(per_fold: pd.DataFrame) -> pd.DataFrame:
    """:func:`intra_modal_records` for reading: system, direction (A→A rows, then V→V), MAP and
    nDCG@k, mean ± std over folds, the best of each direction in bold."""
    summary = (per_fold.groupby(["system", "direction", "metric"], sort=False)["value"]
               .agg(mean="mean", std=_std, n="count").reset_index())
    metrics = [(m, "MAP" if m == "map" else m.replace("ndcg", "nDCG"))
               for m in dict.fromkeys(per_fold["metric"])]
    return _summary_view(summary, metrics, ("a2a", "v2v"), {"a2a": "A→A", "v2v": "V→V"})


def plot_protocols(records: pd.DataFrame, systems: Sequence[System]) -> Any:
    """One panel per system (two per row, 8 inches wide): Recall@K of the true partner and class
    precision@K against K (mean over folds, both directions), one shared legend below. A system
    made to find *the* partner climbs the first curve; one made to find *the class* keeps the
    second high."""
    n_cols = min(2, len(systems))
    n_rows = -(-len(systems) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(8.0, 3.0 * n_rows + 0.8), sharey=True,
                             sharex=True, squeeze=False)
    for ax, s in zip(axes.flat, systems, strict=False):
        sub = records[records["method"] == s.method]
        for metric, colour in (("pair_r", "tab:blue"), ("p", "tab:orange")):
            for d, style in (("a2v", "-"), ("v2a", "--")):
                means = [sub[(sub["metric"] == f"{metric}@{k}") & (sub["direction"] == d)]
                         ["value"].mean() for k in KS]
                label = ("true-pair recall" if metric == "pair_r" else "class precision")
                ax.plot(KS, means, style, color=colour, marker="o", ms=4,
                        label=f"{label} {DIRECTION_LABELS[d]}")
        ax.set_xscale("log")
        ax.set_xticks(KS, [str(k) for k in KS])
        ax.tick_params(labelsize=10)
        ax.set_title(s.name, fontsize=11)
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("K (results read)", fontsize=10)
    for ax in axes[:, 0]:
        ax.set_ylabel("mean over queries, folds", fontsize=10)
    axes[0][0].set_ylim(0, 1.02)
    for ax in list(axes.flat)[len(systems):]:
        ax.set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=10, frameon=False)
    fig.tight_layout(rect=(0, 0.1 / n_rows + 0.02, 1, 1))
    plt.close(fig)
    return fig


def chance_levels(ds: PairedDataset, folds: Sequence[int]) -> dict[str, float]:
    """Reference levels on these test folds.

    - ``pair_r@10``: a random ranking, 10 / n_test;
    - ``map``: a random ranking's class MAP ≈ the mean class frequency (its exact expectation is
      slightly above);
    - ``pair_r@10_class_only``: a ranking that puts the query's whole class first, in random
      order, and nothing else: min(1, 10 / n_c) for a query of class c. When the two views of a
      pair share only their class, no system can expect more.
    """
    sizes, freqs, class_only = [], [], []
    for split in ds.splits(list(folds)):
        y = ds.labels[split.test]
        counts = np.bincount(y)[y]
        sizes.append(len(y))
        freqs.append(float(np.mean(counts / len(y))))
        class_only.append(float(np.mean(np.minimum(1.0, 10 / counts))))
    return {"pair_r@10": float(np.mean([min(10, n) / n for n in sizes])),
            "map": float(np.mean(freqs)), "pair_r@10_class_only": float(np.mean(class_only))}


def leaders(records: pd.DataFrame, systems: Sequence[System]) -> dict[str, str]:
    """Which system scores best under each protocol (mean over folds and both directions)."""
    names = {s.method: s.name for s in systems}
    sub = records[records["method"].isin(list(names)) & records["direction"].isin(["a2v", "v2a"])]
    out = {}
    for metric, label in (("pair_r@10", "true-pair Recall@10"), ("map", "class MAP"),
                          ("ndcg@30", "class nDCG@30")):
        means = sub[sub["metric"] == metric].groupby("method")["value"].mean()
        out[label] = names[str(means.idxmax())]
    return out


def index_comparison(Z: np.ndarray, queries: np.ndarray, k: int = 10,
                     kinds: Sequence[str] = ("exact", "ivf", "hnsw")) -> pd.DataFrame:
    """Build each kind of faiss index over the collection ``Z`` (:mod:`paper_lib.search.index`),
    search it with ``queries`` and measure: build and search wall time, and recall@k of each
    index against the exact one (the share of the exact k best items it finds)."""
    import time

    from paper_lib.search.index import build_index, recall_at_k_vs_exact

    ids = [f"item_{i:06d}" for i in range(len(Z))]
    rows, built = [], {}
    for kind in kinds:
        t0 = time.perf_counter()
        built[kind] = build_index(Z, ids, None, kind=kind)
        t1 = time.perf_counter()
        built[kind].search(queries, k)
        t2 = time.perf_counter()
        rows.append({"index": kind, "items": len(Z), "queries": len(queries),
                     "build (s)": round(t1 - t0, 4), "search (s)": round(t2 - t1, 4),
                     f"recall@{k} vs exact": recall_at_k_vs_exact(built[kind], built["exact"],
                                                                  queries, k)})
    return pd.DataFrame(rows)


def index_view(indexes: pd.DataFrame) -> pd.DataFrame:
    """:func:`index_comparison` for reading: the index kinds by name, the key columns first."""
    out = indexes.copy()
    out["index"] = [INDEX_NAMES.get(k, k) for k in out["index"]]
    recall = [c for c in out.columns if c.startswith("recall@")]
    rest = [c for c in out.columns if c not in ("index", *recall)]
    return out[["index", *recall, *rest]]


def clustered_collection(n_items: int, n_queries: int, dim: int = 10, n_clusters: int = 10,
                         seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A generated collection of ``n_items`` embeddings in ``n_clusters`` Gaussian clusters, and
    ``n_queries`` queries drawn the same way (a stand-in for a large embedded corpus)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_clusters, dim)) * 3
    def draw(n: int) -> np.ndarray:
        return (centres[rng.integers(n_clusters, size=n)] + rng.normal(size=(n, dim))
                ).astype(np.float32)
    return draw(n_items), draw(n_queries)
