"""Intra-modal retrieval (A→A, V→V) is leave-one-out: the query never retrieves itself."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from paper_lib.metrics.cross_modal import intra_modal_report


def test_equals_a_per_query_loop_with_the_query_removed() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 7)
    Z = rng.normal(size=(labels.size, 4)) + labels[:, None]
    got = intra_modal_report(Z, labels, ks=(5,))
    Zn = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    aps = []
    for i in range(labels.size):
        keep = np.arange(labels.size) != i
        aps.append(average_precision_score(labels[keep] == labels[i], Zn[keep] @ Zn[i]))
    assert got["map"] == pytest.approx(np.mean(aps), abs=1e-12)


def test_the_query_itself_would_inflate_the_score() -> None:
    """With one member per class but the query, nothing relevant is left: no query counts."""
    Z = np.eye(4)
    assert np.isnan(intra_modal_report(Z, np.arange(4))["map"])
    # two perfectly separated classes: perfect, but not because of self-matches
    labels = np.array([0, 0, 1, 1])
    Z = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.01, 1.0]])
    assert intra_modal_report(Z, labels, ks=(1,)) == {"map": 1.0, "ndcg@1": 1.0}


def test_bad_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="intra_modal_report"):
        intra_modal_report(np.zeros((1, 3)), np.zeros(1))
