"""The result of one evaluated split: test embeddings, how they are scored, and their metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from paper_lib.data.dataset import Split
from paper_lib.methods.base import CrossModalEstimator
from paper_lib.metrics.cross_modal import scores as cross_modal_scores


@dataclass
class SplitResult:
    """Embeddings and metrics of one (method, split, seed).

    ``metric`` is the similarity the metrics were computed with; :meth:`scores` rebuilds the
    (query x gallery) matrix with it, so PR curves, per-class AP and significance tests always
    rank exactly as the MAP did.

    Attributes
    ----------
    method : str
        The method's name.
    split : Split
        The evaluated split.
    seed : int
        The seed of the fit.
    Z_audio : ndarray of shape (n_test, d)
        Audio test embeddings.
    Z_visual : ndarray of shape (n_test, d)
        Visual test embeddings.
    labels : ndarray of shape (n_test,)
        Test labels.
    metrics : dict
        Direction ("a2v", "v2a") -> metric name -> value
        (:func:`~paper_lib.metrics.retrieval.retrieval_report`).
    fit_seconds : float
        Wall time of the fit and the two embeddings.
    peak_rss_mb : float
        Peak resident memory above the start during the fit, in MB.
    estimator : CrossModalEstimator or None
        The fitted estimator; ``None`` when the result was read back from the experiment cache.
    metric : str
        Similarity of the ranking (cosine in the paper).
    effective_dim : int or None
        Canonical directions the estimator kept (its ``n_components_``), ``None`` for a method
        that has no such stage.
    """

    method: str
    split: Split
    seed: int
    Z_audio: np.ndarray      # (n_test, d) audio test embeddings
    Z_visual: np.ndarray     # (n_test, d) visual test embeddings
    labels: np.ndarray       # (n_test,) test labels
    metrics: dict[str, dict[str, float]]   # direction -> metric name -> value
    fit_seconds: float
    peak_rss_mb: float
    # the fitted estimator; ``None`` when the result was read back from the experiment cache
    estimator: CrossModalEstimator | None = None
    metric: str = "cosine"   # similarity of the ranking (cosine in the paper)
    # canonical directions the estimator kept (its ``n_components_``; numerically-zero
    # correlations are dropped), ``None`` for a method that has no such stage
    effective_dim: int | None = None

    def scores(self, direction: str) -> np.ndarray:
        """The (query x gallery) score matrix of this test fold in ``direction`` ("a2v"/"v2a")."""
        return cross_modal_scores(self.Z_audio, self.Z_visual, direction, self.metric)
