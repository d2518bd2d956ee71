"""Cross-modal score matrices: embeddings of a test fold -> (query x gallery) scores per direction.

The one home of the rule every table, curve and statistic follows (the paper's protocol):

- A→V (``"a2v"``): every audio embedding is a query against the visual gallery;
- V→A (``"v2a"``): every visual embedding is a query against the audio gallery;
- the score is :func:`paper_lib.metrics.similarity.similarity` with the run's ``metric``
  (cosine in the paper; ``"hamming"`` for the binary codes of a hashing method). The V→A matrix is the transpose of the A→V one, so both directions
  rank with exactly the same numbers.
"""

from __future__ import annotations

import numpy as np

from paper_lib.errors import UserError
from paper_lib.metrics.retrieval import mean_average_precision, retrieval_report
from paper_lib.metrics.similarity import METRICS, Metric, similarity

#: the two retrieval directions: audio queries against the visual gallery, and the reverse
DIRECTIONS: tuple[str, str] = ("a2v", "v2a")
#: how tables and figures print each direction
DIRECTION_LABELS: dict[str, str] = {"a2v": "A→V", "v2a": "V→A"}


def check_direction(direction: str) -> str:
    """``direction`` if it is one of :data:`DIRECTIONS`, else ``UserError`` naming them."""
    if direction not in DIRECTIONS:
        raise UserError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    return direction


def check_metric(metric: str) -> Metric:
    """``metric`` as a :data:`~paper_lib.metrics.similarity.Metric` if it is one of
    :data:`~paper_lib.metrics.similarity.METRICS`, else ``UserError`` naming them."""
    if metric == "cosine":
        return "cosine"
    if metric == "euclidean":
        return "euclidean"
    if metric == "hamming":
        return "hamming"
    raise UserError(f"metric must be one of {METRICS}, got {metric!r}.")


def audio_visual_scores(Z_audio: np.ndarray, Z_visual: np.ndarray,
                        metric: str = "cosine") -> np.ndarray:
    """S[i, j] = score of visual item j for audio query i: (n_audio, n_visual)."""
    return similarity(Z_audio, Z_visual, check_metric(metric))


def scores(Z_audio: np.ndarray, Z_visual: np.ndarray, direction: str,
           metric: str = "cosine") -> np.ndarray:
    """The (query x gallery) score matrix of one direction (A→V, or its transpose for V→A).

    Examples
    --------
    >>> import numpy as np
    >>> Z_audio = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])     # 3 audio embeddings
    >>> Z_visual = np.array([[1.0, 0.0], [0.0, 1.0]])                # 2 visual embeddings
    >>> scores(Z_audio, Z_visual, "a2v").shape, scores(Z_audio, Z_visual, "v2a").shape
    ((3, 2), (2, 3))
    """
    S = audio_visual_scores(Z_audio, Z_visual, metric)
    return S if check_direction(direction) == "a2v" else S.T


def cross_modal_map(Z_audio: np.ndarray, Z_visual: np.ndarray, labels: np.ndarray,
                    metric: str = "cosine") -> dict[str, float]:
    """MAP over the full ranking in both directions for paired embeddings with shared ``labels``.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1])
    >>> Z_audio = np.array([[1.0, 0.1], [0.9, 0.0], [0.0, 1.0], [0.2, 0.8]])
    >>> Z_visual = np.array([[0.8, 0.2], [1.0, 0.0], [0.1, 0.9], [0.0, 1.0]])
    >>> cross_modal_map(Z_audio, Z_visual, labels)
    {'a2v': 1.0, 'v2a': 1.0}
    """
    S = audio_visual_scores(Z_audio, Z_visual, metric)
    return {"a2v": float(mean_average_precision(S, labels, labels)),
            "v2a": float(mean_average_precision(S.T, labels, labels))}


def intra_modal_report(Z: np.ndarray, labels: np.ndarray, ks: tuple[int, ...] = (30,),
                       metric: str = "cosine") -> dict[str, float]:
    """Within one modality (A→A or V→V, as AVE-Net's paper evaluates): every item queries all the
    *other* items of its modality (leave-one-out: the query is removed from its own gallery, or
    it would trivially rank first). Returns ``map`` and ``ndcg@k`` for each ``k``, averaged over
    the queries that have a relevant item (same class) left.

    Each query is scored by :func:`~paper_lib.metrics.retrieval.retrieval_report` on its own
    (1 x (n - 1)) row, so the values follow the module's full-ranking, tie-aware rules.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    >>> intra_modal_report(Z, np.array([0, 0, 1, 1]), ks=(1,))
    {'map': 1.0, 'ndcg@1': 1.0}
    """
    Z = np.asarray(Z)
    labels = np.asarray(labels)
    if Z.ndim != 2 or labels.shape != (Z.shape[0],) or Z.shape[0] < 2:
        raise UserError(f"intra_modal_report: need (n, d) embeddings with n >= 2 and (n,) labels, "
                         f"got {Z.shape} and {labels.shape}")
    S = similarity(Z, Z, check_metric(metric))
    n = Z.shape[0]
    others = ~np.eye(n, dtype=bool)
    names = ["map", *(f"ndcg@{k}" for k in ks)]
    values: dict[str, list[float]] = {name: [] for name in names}
    for i in range(n):
        gallery = labels[others[i]]
        if not (gallery == labels[i]).any():
            continue                                     # no relevant item left: not a query
        row = retrieval_report(S[i:i + 1, others[i]], labels[i:i + 1], gallery, ks=ks,
                               include_pairs=False)
        for name in names:
            values[name].append(row[name])
    return {name: float(np.mean(v)) if v else float("nan") for name, v in values.items()}
