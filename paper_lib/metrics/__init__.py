"""The one retrieval-metrics module behind every table and curve of the book.

``similarity`` turns embeddings into a query-by-gallery score matrix (cosine, as in the paper);
``retrieval`` ranks the full gallery once per query and derives every metric from that ranking:
MAP over the full ranking, P@k, R@k, PR curves, the 11-point curve, VM-NET's true-pair
Recall@K, nDCG@k, MRR, per-class AP, the one-pass ``retrieval_report`` and ``ranking_summary`` (MAP, P@k and the PR
curve from one sort). The metrics are
tie-aware (AP as scikit-learn, cut-off metrics expected over random orders of tied items), so
none depends on gallery order; ``rank_gallery`` gives the display order (ties in gallery order).
"""

from paper_lib.metrics.retrieval import (
    DEFAULT_CHUNK,
    DEFAULT_KS,
    RECALL_LEVELS_11,
    RankingSummary,
    average_precision,
    count_dropped_queries,
    interpolated_pr_11,
    mean_average_precision,
    mean_reciprocal_rank,
    ndcg_at_k,
    per_class_ap,
    pr_curve,
    precision_at_k,
    rank_gallery,
    ranking_summary,
    recall_at_k,
    recall_at_k_true_pair,
    relevance,
    report_names,
    retrieval_report,
)
from paper_lib.metrics.similarity import METRICS, similarity

__all__ = [
    "DEFAULT_CHUNK",
    "DEFAULT_KS",
    "METRICS",
    "RECALL_LEVELS_11",
    "average_precision",
    "count_dropped_queries",
    "interpolated_pr_11",
    "mean_average_precision",
    "mean_reciprocal_rank",
    "ndcg_at_k",
    "per_class_ap",
    "pr_curve",
    "precision_at_k",
    "RankingSummary",
    "rank_gallery",
    "ranking_summary",
    "recall_at_k",
    "recall_at_k_true_pair",
    "relevance",
    "report_names",
    "retrieval_report",
    "similarity",
]
