"""Retrieval metrics on a query-by-gallery score matrix: the one ranking behind every number.

Protocol (the paper's, made precise; every function here follows it)
--------------------------------------------------------------------
* **Input.** ``S`` is an (n_q, n_g) score matrix, higher = more similar (see
  :func:`paper_lib.metrics.similarity.similarity`); ``q_labels`` (n_q,) and ``g_labels`` (n_g,)
  are integer class ids. Gallery item ``j`` is *relevant* to query ``i`` when
  ``g_labels[j] == q_labels[i]``.
* **One ranking, full depth.** Each query ranks the *whole* gallery by descending score
  (:func:`rank_gallery`). **Ties are broken stably: tied items keep gallery order, lower gallery
  index first.** Every metric below is computed from this one ranking, so MAP, P@k, the PR
  curves and the report can never disagree about the order.
* **R** = number of relevant gallery items of a query = number of gallery items of its class,
  the query's own partner included (in a paired test fold the partner always has the same class).
* **AP** = (1/R) Σ_{k=1..n_g} P@k · rel_k over the full ranking (never truncated: "MAP@k" with
  the number of hits in the top k as denominator inflates scores and is not what we report).
* **Queries with R = 0** (their class is absent from the gallery) have no defined AP, recall,
  nDCG or reciprocal rank. Per-query functions return NaN for them and *every* label-based
  average (MAP, P@k, R@k, PR curves, 11-point curve, nDCG, MRR) ignores them.
  :func:`count_dropped_queries` returns how many were dropped; :func:`retrieval_report` records
  it as ``"n_dropped"``. If every query is dropped a ``ValueError`` is raised.
* **k** must be an integer >= 1; ``k > n_g`` is clipped to ``n_g`` (the report keeps the name
  with the requested k).
* **Memory.** Queries are processed in blocks of ``chunk`` rows (default 1024), so peak memory is
  O(chunk · n_g) besides ``S`` itself. Results are bit-identical for every ``chunk`` (per-query
  values are computed row by row; the PR curves are accumulated with exact integer sums).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

# [choice] 1024 queries per block: for n_g = 6000 one block's int64 ranking, cumulative hits
# and float temporaries stay around 50 MB each; any value gives the same numbers.
DEFAULT_CHUNK: int = 1024
# [choice] default cut-offs of the report: 1/5/10 are VM-NET's Recall@K, 30 is the nDCG@30 of
# "Objects that sound", 100 a deep cut-off for the precision/recall trade-off.
DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 30, 100)
RECALL_LEVELS_11: np.ndarray = np.arange(11) / 10.0  # r = 0.0, 0.1, ..., 1.0


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
def _check_scores(S: object) -> np.ndarray:
    """Return ``S`` as a finite, non-empty 2-d real array (float kept, int/bool -> float64)."""
    A = np.asarray(S)
    if A.dtype == object or np.issubdtype(A.dtype, np.complexfloating):
        raise ValueError(f"S must hold real scores, got dtype {A.dtype}.")
    if not np.issubdtype(A.dtype, np.floating):
        A = A.astype(np.float64)
    if A.ndim != 2:
        raise ValueError(f"S must be a 2-d (n_queries, n_gallery) score matrix, got shape {A.shape}.")
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise ValueError(f"S is empty (shape {A.shape}).")
    if not np.isfinite(A).all():
        bad = int((~np.isfinite(A)).any(axis=1).sum())
        raise ValueError(f"S contains NaN or inf scores in {bad} query row(s).")
    return A


def _check_label_vector(labels: object, name: str, S_shape: tuple[int, ...], axis: int
                        ) -> np.ndarray:
    """Return ``labels`` as a 1-d int64 vector of length ``S.shape[axis]`` or raise naming it."""
    y = np.asarray(labels)
    length = S_shape[axis]
    if y.ndim != 1 or y.shape[0] != length:
        raise ValueError(
            f"{name} must be a 1-d label vector of length S.shape[{axis}] = {length}, "
            f"got shape {y.shape}.")
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise ValueError(f"{name} must hold integer class ids, got dtype {y.dtype}.")
    return y.astype(np.int64)


def _check_inputs(S: object, q_labels: object, g_labels: object
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a score matrix and its two label vectors together."""
    Sa = _check_scores(S)
    ql = _check_label_vector(q_labels, "q_labels", Sa.shape, axis=0)  # one per query row
    gl = _check_label_vector(g_labels, "g_labels", Sa.shape, axis=1)  # one per gallery column
    return Sa, ql, gl


def _check_k(k: object, n_gallery: int, name: str = "k") -> int:
    """An integer cut-off >= 1, clipped to the gallery size."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= 1, got {k!r}.")
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {k}.")
    return int(min(int(k), n_gallery))


def _check_chunk(chunk: object) -> int | None:
    """``None`` (one block) or a positive integer number of queries per block."""
    if chunk is None:
        return None
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise ValueError(f"chunk must be None or an integer >= 1 (queries per block), got {chunk!r}.")
    return int(chunk)


def _check_pair_index(pair_index: object, n_queries: int, n_gallery: int) -> np.ndarray:
    """Gallery index of each query's true partner; default: query i <-> gallery item i."""
    if pair_index is None:
        if n_queries > n_gallery:
            raise ValueError(
                f"pair_index=None pairs query i with gallery item i, which needs n_queries <= "
                f"n_gallery; got S of shape ({n_queries}, {n_gallery}). Pass pair_index.")
        return np.arange(n_queries, dtype=np.int64)
    p = np.asarray(pair_index)
    if p.ndim != 1 or p.shape[0] != n_queries:
        raise ValueError(
            f"pair_index must be a 1-d vector of length {n_queries} (one partner per query), "
            f"got shape {p.shape}.")
    if not np.issubdtype(p.dtype, np.integer):
        raise ValueError(f"pair_index must hold integer gallery indices, got dtype {p.dtype}.")
    if p.size and (p.min() < 0 or p.max() >= n_gallery):
        raise ValueError(
            f"pair_index values must lie in [0, {n_gallery}) (gallery indices), "
            f"got min {p.min()} and max {p.max()}.")
    return p.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# the one ranking, processed in query blocks
# ---------------------------------------------------------------------------------------------
def _query_blocks(n_queries: int, chunk: int | None) -> Iterator[slice]:
    """Consecutive query slices of at most ``chunk`` rows (one slice when ``chunk`` is None)."""
    step = n_queries if chunk is None else chunk
    for start in range(0, n_queries, step):
        yield slice(start, min(start + step, n_queries))


def _rank_block(S_block: np.ndarray) -> np.ndarray:
    """Descending-score order of each row; stable, so tied items keep gallery order."""
    # argsort of -S with a stable sort == descending S with ties in ascending gallery index.
    return np.argsort(-S_block, axis=1, kind="stable")  # (b, n_g) int64


@dataclass(frozen=True)
class _RankedBlock:
    """One block of queries after ranking: everything every metric needs."""

    rows: slice          # which queries
    order: np.ndarray    # (b, n_g) int64 gallery indices in ranked order
    rel: np.ndarray      # (b, n_g) bool   rel_k: the item at rank k has the query's class
    hits: np.ndarray     # (b, n_g) int64  Σ_{j<=k} rel_j  (number of hits in the top k)
    n_rel: np.ndarray    # (b,)     int64  R: number of relevant gallery items


def _ranked_blocks(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                   chunk: int | None) -> Iterator[_RankedBlock]:
    """Rank the gallery for each block of queries and derive relevance and cumulative hits."""
    for rows in _query_blocks(S.shape[0], chunk):
        order = _rank_block(S[rows])
        rel = g_labels[order] == q_labels[rows, None]
        hits = np.cumsum(rel, axis=1, dtype=np.int64)
        yield _RankedBlock(rows=rows, order=order, rel=rel, hits=hits, n_rel=hits[:, -1].copy())


def _ranks(n_gallery: int) -> np.ndarray:
    """Rank positions k = 1..n_g."""
    return np.arange(1, n_gallery + 1, dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# per-query values on one block (NaN where R = 0)
# ---------------------------------------------------------------------------------------------
def _nan_where_no_relevant(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    """Mark the queries whose class is absent from the gallery (R = 0) as undefined."""
    # [choice] one rule for every label-based average: R = 0 queries are dropped (even from P@k,
    # where 0 would be defined), so all numbers of a report average over the same queries.
    # In the paper's paired test folds R >= 1 always (the query's own partner is relevant).
    values[n_rel == 0] = np.nan
    return values


def _ap_rows(b: _RankedBlock) -> np.ndarray:
    """AP = (1/R) Σ_k P@k · rel_k over the full ranking, P@k = hits_k / k."""
    precision = b.hits / _ranks(b.hits.shape[1])                 # (b, n_g) P@k
    summed = np.where(b.rel, precision, 0.0).sum(axis=1)          # Σ_k P@k · rel_k
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_no_relevant(summed / b.n_rel, b.n_rel)


def _precision_rows(b: _RankedBlock, k: int) -> np.ndarray:
    """P@k = hits in the top k / k."""
    return _nan_where_no_relevant(b.hits[:, k - 1] / k, b.n_rel)


def _recall_rows(b: _RankedBlock, k: int) -> np.ndarray:
    """R@k = hits in the top k / R."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_no_relevant(b.hits[:, k - 1] / b.n_rel, b.n_rel)


def _reciprocal_rank_rows(b: _RankedBlock) -> np.ndarray:
    """1 / (rank of the first relevant item)."""
    first = np.argmax(b.rel, axis=1) + 1  # 1-based rank of the first True
    return _nan_where_no_relevant(1.0 / first, b.n_rel)


def _ndcg_rows(b: _RankedBlock, k: int) -> np.ndarray:
    """nDCG@k with binary gains: DCG = Σ_{i<=k} rel_i / log2(i+1); IDCG puts min(k, R) hits first."""
    discount = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))   # (k,) 1/log2(i+1)
    dcg = np.where(b.rel[:, :k], discount, 0.0).sum(axis=1)           # (b,)
    ideal_prefix = np.concatenate([[0.0], np.cumsum(discount)])       # IDCG for 0..k hits
    idcg = ideal_prefix[np.minimum(b.n_rel, k)]                       # (b,)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_no_relevant(dcg / idcg, b.n_rel)


def _eleven_point_rows(b: _RankedBlock) -> np.ndarray:
    """Per query, p_interp(r) = max_{k: recall_k >= r} P@k at r = 0, 0.1, ..., 1.  -> (b, 11)."""
    n_gallery = b.hits.shape[1]
    precision = b.hits / _ranks(n_gallery)
    # best_after[:, k] = max_{k' >= k} P@k'  (suffix maximum)
    best_after = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    # recall_k >= l/10  <=>  hits_k >= m_l = ceil(l·R/10)  (exact integers: no 0.1·3 != 0.3).
    # hits_k is non-decreasing, so the qualifying cut-offs are [first_l, n_g), where first_l is
    # the rank index of the m_l-th relevant item (index 0 when m_l = 0).
    levels = np.arange(RECALL_LEVELS_11.size)                           # l = 0..10
    needed = (levels[None, :] * b.n_rel[:, None] + 9) // 10             # (b, 11) m_l
    _, hit_cols = np.nonzero(b.rel)                                     # rank index of each hit
    hit_cols = np.append(hit_cols, 0)  # sentinel: lookups of R = 0 rows land here (m_l = 0 anyway)
    row_start = np.concatenate([[0], np.cumsum(b.n_rel)[:-1]])          # (b,) row offset in hits
    # m_l >= 1 -> rank index of the row's m_l-th hit; m_l = 0 -> index 0 (every cut-off qualifies)
    nth_hit = np.minimum(row_start[:, None] + np.maximum(needed - 1, 0), hit_cols.size - 1)
    first = np.where(needed > 0, hit_cols[nth_hit], 0)                  # (b, 11)
    out = np.take_along_axis(best_after, first, axis=1)                 # (b, 11)
    out[b.n_rel == 0] = np.nan
    return out


def _pair_position_rows(order: np.ndarray, partner: np.ndarray) -> np.ndarray:
    """0-based rank of each query's true partner (gallery index ``partner[i]``) in ``order``."""
    return np.argmax(order == partner[:, None], axis=1)


# ---------------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------------
def _mean_over_valid(values: np.ndarray, what: str) -> float:
    """Mean over the queries with R > 0 (NaN entries); error if there are none."""
    valid = ~np.isnan(values)
    if not valid.any():
        raise ValueError(
            f"cannot compute {what}: no query has a relevant gallery item "
            f"(no query class occurs in g_labels).")
    return float(values[valid].mean())


def _collect(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, chunk: int | None,
             per_block: Callable[[_RankedBlock], np.ndarray]) -> np.ndarray:
    """Apply a per-block function to every query block and concatenate the per-query results."""
    return np.concatenate([per_block(b) for b in _ranked_blocks(S, q_labels, g_labels, chunk)])


class _PRSums:
    """Exact integer sums for the query-averaged PR curve (identical for every chunk size).

    precision_k = (1/n) Σ_i hits_ik / k  = (Σ_i hits_ik) / (k · n)
    recall_k    = (1/n) Σ_i hits_ik / R_i = (1/n) Σ_r (Σ_{i: R_i = r} hits_ik) / r
    """

    def __init__(self, n_gallery: int) -> None:
        self.hit_sum = np.zeros(n_gallery, dtype=np.int64)
        self.hit_sum_by_r: dict[int, np.ndarray] = {}
        self.n_valid = 0

    def add(self, b: _RankedBlock) -> None:
        valid = b.n_rel > 0
        hits, n_rel = b.hits[valid], b.n_rel[valid]
        self.n_valid += int(valid.sum())
        self.hit_sum += hits.sum(axis=0)
        for r in np.unique(n_rel):
            acc = self.hit_sum_by_r.setdefault(int(r), np.zeros_like(self.hit_sum))
            acc += hits[n_rel == r].sum(axis=0)

    def curves(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n_valid == 0:
            raise ValueError("cannot compute the PR curve: no query has a relevant gallery item.")
        precision = self.hit_sum / (_ranks(self.hit_sum.size) * self.n_valid)
        recall = np.zeros(self.hit_sum.size, dtype=np.float64)
        for r in sorted(self.hit_sum_by_r):
            recall += self.hit_sum_by_r[r] / r
        return precision, recall / self.n_valid


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
def rank_gallery(S: np.ndarray, *, chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    """Rank the whole gallery for every query by descending score.

    Ties are broken **stably**: tied gallery items keep gallery order (lower gallery index
    first). Every other metric in this module uses exactly this ranking.

    Returns (n_q, n_g) int64: ``rank_gallery(S)[i, k]`` is the gallery index at rank k+1 for
    query i.
    """
    Sa = _check_scores(S)
    step = _check_chunk(chunk)
    return np.concatenate([_rank_block(Sa[rows]) for rows in _query_blocks(Sa.shape[0], step)])


def relevance(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
              chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    """(n_q, n_g) bool, in ranked order: ``[i, k]`` = the item at rank k+1 has query i's class."""
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    return _collect(Sa, ql, gl, _check_chunk(chunk), lambda b: b.rel)


def count_dropped_queries(q_labels: np.ndarray, g_labels: np.ndarray) -> int:
    """Number of queries whose class is absent from the gallery (R = 0): the queries every
    label-based average in this module ignores."""
    ql = np.asarray(q_labels)
    gl = np.asarray(g_labels)
    if ql.ndim != 1:
        raise ValueError(f"q_labels must be a 1-d label vector, got shape {ql.shape}.")
    if gl.ndim != 1:
        raise ValueError(f"g_labels must be a 1-d label vector, got shape {gl.shape}.")
    return int((~np.isin(ql, gl)).sum())


def average_precision(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                      chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    """Per-query AP over the full (stable) ranking.

    AP_i = (1/R_i) Σ_{k=1..n_g} P@k · rel_k, with R_i the number of gallery items of query i's
    class (its own partner included). Never truncated. Returns (n_q,) float64 with **NaN for
    queries whose class is absent from the gallery** (R_i = 0).
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    return _collect(Sa, ql, gl, _check_chunk(chunk), _ap_rows)


def mean_average_precision(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                           chunk: int | None = DEFAULT_CHUNK) -> float:
    """MAP = mean of :func:`average_precision` over the queries with R > 0.

    Queries whose class is absent from the gallery are ignored; :func:`count_dropped_queries`
    says how many (``retrieval_report`` records it as ``"n_dropped"``).
    """
    return _mean_over_valid(average_precision(S, q_labels, g_labels, chunk=chunk), "MAP")


def precision_at_k(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int, *,
                   chunk: int | None = DEFAULT_CHUNK) -> float:
    """Mean over queries (R > 0) of P@k = (relevant items in the top k) / k; k clipped to n_g."""
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    kk = _check_k(k, Sa.shape[1])
    values = _collect(Sa, ql, gl, _check_chunk(chunk), lambda b: _precision_rows(b, kk))
    return _mean_over_valid(values, f"precision@{k}")


def recall_at_k(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int, *,
                chunk: int | None = DEFAULT_CHUNK) -> float:
    """Mean over queries (R > 0) of R@k = (relevant items in the top k) / R; k clipped to n_g."""
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    kk = _check_k(k, Sa.shape[1])
    values = _collect(Sa, ql, gl, _check_chunk(chunk), lambda b: _recall_rows(b, kk))
    return _mean_over_valid(values, f"recall@{k}")


def pr_curve(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
             chunk: int | None = DEFAULT_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Query-averaged precision and recall at every rank cut-off k = 1..n_g.

    ``precision[k-1]`` = mean_i hits_i(k)/k and ``recall[k-1]`` = mean_i hits_i(k)/R_i over the
    queries with R_i > 0. Both are averaged at the *same cut-off* (not at the same recall), so
    ``recall[-1] == 1`` and ``precision[-1]`` = mean_i R_i / n_g (the class prevalence in the
    gallery seen by the average query). Returns ``(precision, recall)``, each (n_g,) float64.
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    sums = _PRSums(Sa.shape[1])
    for b in _ranked_blocks(Sa, ql, gl, _check_chunk(chunk)):
        sums.add(b)
    return sums.curves()


def interpolated_pr_11(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                       chunk: int | None = DEFAULT_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Standard 11-point interpolated precision-recall curve.

    Per query: p_interp(r) = max{P@k : recall@k >= r} for r = 0, 0.1, ..., 1 (recall compared in
    exact integer arithmetic); then averaged over the queries with R > 0. Returns
    ``(recall_levels, precision)``, each (11,); the precision is non-increasing.
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    per_query = _collect(Sa, ql, gl, _check_chunk(chunk), _eleven_point_rows)  # (n_q, 11)
    valid = ~np.isnan(per_query[:, 0])
    if not valid.any():
        raise ValueError("cannot compute the 11-point curve: no query has a relevant gallery item.")
    return RECALL_LEVELS_11.copy(), per_query[valid].mean(axis=0)


def recall_at_k_true_pair(S: np.ndarray, k: int, pair_index: np.ndarray | None = None, *,
                          chunk: int | None = DEFAULT_CHUNK) -> float:
    """VM-NET Recall@K: fraction of queries whose true partner is among the top k.

    The partner of query i is gallery item ``pair_index[i]`` (default: item i, the paired clip of
    the same test fold). Labels play no role; every query counts. Ties follow the stable ranking.
    """
    Sa = _check_scores(S)
    kk = _check_k(k, Sa.shape[1])
    partner = _check_pair_index(pair_index, *Sa.shape)
    step = _check_chunk(chunk)
    positions = np.concatenate([_pair_position_rows(_rank_block(Sa[rows]), partner[rows])
                                for rows in _query_blocks(Sa.shape[0], step)])
    return float((positions < kk).mean())


def ndcg_at_k(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int, *,
              chunk: int | None = DEFAULT_CHUNK) -> float:
    """Mean nDCG@k over queries with R > 0 ("Objects that sound" protocol, binary relevance).

    DCG@k = Σ_{i=1..k} rel_i / log2(i + 1); IDCG@k = Σ_{i=1..min(k, R)} 1 / log2(i + 1).
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    kk = _check_k(k, Sa.shape[1])
    values = _collect(Sa, ql, gl, _check_chunk(chunk), lambda b: _ndcg_rows(b, kk))
    return _mean_over_valid(values, f"nDCG@{k}")


def mean_reciprocal_rank(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                         chunk: int | None = DEFAULT_CHUNK) -> float:
    """MRR: mean over queries with R > 0 of 1 / (rank of the first relevant gallery item)."""
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    values = _collect(Sa, ql, gl, _check_chunk(chunk), _reciprocal_rank_rows)
    return _mean_over_valid(values, "MRR")


def per_class_ap(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                 chunk: int | None = DEFAULT_CHUNK) -> dict[int, float]:
    """Mean AP of the queries of each query class, ``{class id: mean AP}`` in class order.

    A class absent from the gallery maps to NaN (all its queries have R = 0).
    """
    ap = average_precision(S, q_labels, g_labels, chunk=chunk)
    ql = np.asarray(q_labels).astype(np.int64)
    # [choice] classes absent from the gallery are kept with NaN (visible, not silently hidden);
    # all queries of a class share R, so a class mean is either all-NaN or NaN-free.
    return {int(c): float(ap[ql == c].mean()) for c in np.unique(ql)}


def report_names(ks: Sequence[int] = DEFAULT_KS, *, include_pairs: bool = True) -> list[str]:
    """The keys of :func:`retrieval_report`, in order (stable, lower case)."""
    names = ["map", "mrr"]
    for k in ks:
        names += [f"p@{k}", f"r@{k}", f"ndcg@{k}"]
        if include_pairs:
            names.append(f"pair_r@{k}")
    return names + ["n_queries", "n_dropped"]


def retrieval_report(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                     ks: Iterable[int] = DEFAULT_KS, *, pair_index: np.ndarray | None = None,
                     include_pairs: bool = True,
                     chunk: int | None = DEFAULT_CHUNK) -> dict[str, float]:
    """Every scalar metric in one pass over the shared ranking (what the experiment runner records).

    Keys (lower case, stable; see :func:`report_names`):

    * ``"map"``        mean average precision over the full ranking;
    * ``"mrr"``        mean reciprocal rank of the first relevant item;
    * ``"p@k"``        precision at k;  ``"r@k"`` recall at k;  ``"ndcg@k"`` nDCG at k;
    * ``"pair_r@k"``   VM-NET Recall@K of the true partner (only when ``include_pairs``;
      partner of query i = ``pair_index[i]``, default gallery item i);
    * ``"n_queries"``  number of queries; ``"n_dropped"`` queries ignored because R = 0.

    Label-based values average over the queries with R > 0; ``pair_r@k`` over all queries.
    A k larger than the gallery is clipped to n_g but keeps its requested name. Values are
    identical to the single-metric functions.
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    # one entry per distinct requested k, in the given order; each clipped to the gallery size
    ks_list = list(dict.fromkeys(int(k) if isinstance(k, np.integer) else k for k in ks))
    clipped = {k: _check_k(k, Sa.shape[1], name="ks entry") for k in ks_list}
    partner = _check_pair_index(pair_index, *Sa.shape) if include_pairs else None
    step = _check_chunk(chunk)

    # per-query values, block by block, all from the same ranking (NaN where R = 0)
    per_query: dict[str, list[np.ndarray]] = {"map": [], "mrr": []}
    pair_positions: list[np.ndarray] = []
    for b in _ranked_blocks(Sa, ql, gl, step):
        per_query["map"].append(_ap_rows(b))
        per_query["mrr"].append(_reciprocal_rank_rows(b))
        for k, kk in clipped.items():
            per_query.setdefault(f"p@{k}", []).append(_precision_rows(b, kk))
            per_query.setdefault(f"r@{k}", []).append(_recall_rows(b, kk))
            per_query.setdefault(f"ndcg@{k}", []).append(_ndcg_rows(b, kk))
        if partner is not None:
            pair_positions.append(_pair_position_rows(b.order, partner[b.rows]))

    values = {name: _mean_over_valid(np.concatenate(parts), name)
              for name, parts in per_query.items()}
    if partner is not None:
        positions = np.concatenate(pair_positions)  # (n_q,) 0-based rank of the true partner
        values.update({f"pair_r@{k}": float((positions < kk).mean()) for k, kk in clipped.items()})
    values["n_queries"] = float(Sa.shape[0])
    values["n_dropped"] = float(np.isnan(np.concatenate(per_query["map"])).sum())
    # the documented key order
    return {name: values[name] for name in report_names(ks_list, include_pairs=include_pairs)}
