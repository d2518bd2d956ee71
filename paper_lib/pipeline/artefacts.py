"""The paper's artefacts, in its order: which notebook regenerates each, and what it writes.

``results`` names the files (under ``results/<dataset>-<profile>/<name>/``) that a run must
produce; the test-suite checks each artefact against its notebook, the table of contents and a
quick run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Artefact:
    """One artefact of the paper (a table or figure) and the notebook that regenerates it.

    Attributes
    ----------
    name : str
        Results folder and the ``start(name, ...)`` of the notebook.
    notebook : str
        The notebook, ``notebooks/<notebook>.py``.
    title : str
        The paper's artefact.
    results : tuple of str
        The result files the notebook writes.
    """

    name: str              # results folder and the ``start(name, ...)`` of the notebook
    notebook: str          # notebooks/<notebook>.py
    title: str             # the paper's artefact
    results: tuple[str, ...]


ARTEFACTS: tuple[Artefact, ...] = (
    Artefact("data_overview", "01_data_overview", "The dataset: class counts, statistics, folds",
             ("class_counts.csv", "feature_stats.csv", "fold_counts.csv")),
    Artefact("main_table", "02_main_table", "Main comparison: MAP A→V and V→A over 5 folds",
             ("records.csv", "main_table.csv")),
    Artefact("pr_curves", "03_pr_curves", "Precision-recall curves, every method, both directions",
             ("pr_curves.csv", "pr_curves.png")),
    Artefact("ablation_dims", "04_ablation_dims", "Ablation: number of correlation components d",
             ("records.csv", "summary.csv")),
    Artefact("ablation_margin", "05_ablation_margin", "Ablation: triplet margin",
             ("records.csv", "summary.csv")),
    Artefact("ablation_batch_number", "06_ablation_batch_number", "Ablation: batch number",
             ("records.csv", "summary.csv")),
    Artefact("ablation_mining", "07_ablation_mining", "Ablation: triplet mining strategy",
             ("records.csv", "summary.csv")),
    Artefact("ablation_ccca_variant", "08_ablation_ccca_variant",
             "Ablation: Cluster-CCA variant (Rasiwasia vs beta-mixed) and beta",
             ("records.csv", "summary.csv")),
    Artefact("ablation_architecture", "09_ablation_architecture",
             "Ablation: order (C-CCA→TNN vs TNN→C-CCA) and shared vs separate branches",
             ("records.csv", "summary.csv")),
    Artefact("feature_study", "10_feature_study", "S-DCCA feature study (forum paper, Table I)",
             ("records.csv", "summary.csv")),
    Artefact("embeddings_tsne", "11_embeddings_tsne",
             "t-SNE of raw, C-CCA and TNN-C-CCA embeddings of one test fold",
             ("tsne_points.csv", "tsne.png")),
    Artefact("retrieval_examples", "12_retrieval_examples",
             "Retrieval examples: top results of CCA, C-CCA and TNN-C-CCA",
             ("examples.csv",)),
    Artefact("per_class_significance", "13_per_class_significance",
             "Per-class AP and a paired statistical comparison",
             ("per_class_ap.csv", "significance.csv")),
    Artefact("ablation_adversary", "14_ablation_adversary",
             "Ablation: the state-of-the-art baselines' adversaries on and off",
             ("records.csv", "summary.csv", "separability.csv")),
)

