"""Retrieval metrics on a query-by-gallery score matrix: the one ranking behind every number.

Protocol (the paper's, made precise; every function here follows it)
--------------------------------------------------------------------
* **Input.** ``S`` is an (n_q, n_g) score matrix, higher = more similar (see
  :func:`paper_lib.metrics.similarity.similarity`); ``q_labels`` (n_q,) and ``g_labels`` (n_g,)
  are integer class ids. Gallery item ``j`` is *relevant* to query ``i`` when
  ``g_labels[j] == q_labels[i]``.
* **One ranking, full depth.** Each query ranks the *whole* gallery by descending score. Items
  with exactly equal scores form a **tie group**: the ranking is an ordered sequence of tie
  groups, and every metric below is computed from it, so MAP, P@k, the PR curves and the report
  can never disagree.
* **Ties: no metric depends on the order of tied items** (hence none depends on gallery order).
  :func:`rank_gallery` still returns one concrete order (stable: tied items in gallery order,
  lower index first) because a page that *shows* a top-k needs one; :func:`relevance` follows it.
  The metrics use only the tie groups, with these rules:

  - **AP** (and MAP, per-class AP) is scikit-learn's ``average_precision_score`` of one query:
    a tie group is one threshold. A group holding h relevant of its items contributes
    (h / R) · (hits through the group / items through the group).
  - **P@k, R@k, nDCG@k, the PR curve at every rank, VM-NET's true-pair Recall@K** are the
    *expectation over a uniformly random order of the tied items* (exact, by linearity): a
    group straddling the cut-off k counts with the fraction of it inside the top k, i.e. the
    expected hits in the top k are H_before + h · (k - start) / g for a group of g items with
    h hits starting after rank ``start`` with H_before hits above it; in nDCG every position of
    a group has the expected gain h / g.
  - **MRR** is the exact expectation of 1 / (rank of the first relevant item) over random orders
    of the first tie group that holds a relevant item: with h relevant among its g items,
    starting after rank s, the first relevant item is at rank s + 1 + j with probability
    C(g-1-j, h-1) / C(g, h), j = 0..g-h.
  - The **11-point interpolated curve** interpolates each query's tie-aware (expected) P@k /
    R@k curve: p_interp(r) = max{P@k : R@k >= r}, levels compared exactly (it is not the
    expected interpolated curve: a maximum does not commute with an expectation).

  Without ties every group is one item and these are the usual definitions (the same numbers
  as a plain ranking). With ties, a collapsed embedding (all scores equal) scores the
  chance level: AP = P@k = the class prevalence R / n_g.
* **R** = number of relevant gallery items of a query = number of gallery items of its class,
  the query's own partner included (in a paired test fold the partner always has the same class).
* **AP** = (1/R) Σ_{k=1..n_g} P@k · rel_k over the full ranking (never truncated: "MAP@k" with
  the number of hits in the top k as denominator inflates scores and is not what we report);
  with ties, the sum runs over tie groups as above.
* **Queries with R = 0** (their class is absent from the gallery) have no defined AP, recall,
  nDCG or reciprocal rank. Per-query functions return NaN for them and *every* label-based
  average (MAP, P@k, R@k, PR curves, 11-point curve, nDCG, MRR) ignores them.
  :func:`count_dropped_queries` returns how many were dropped; :func:`retrieval_report` records
  it as ``"n_dropped"``. If every query is dropped a ``UserError`` is raised.
* **k** must be an integer >= 1; ``k > n_g`` is clipped to ``n_g`` (the report keeps the name
  with the requested k).
* **Implementation.** No metric needs a full argsort of the gallery. Each is a sum over a query's
  relevant items of a function of the item's tie group (items scored strictly higher, items
  scored at least as high, relevant items scored at least as high), which one value sort per row
  gives: each score's lowest mantissa bit is replaced by the item's relevance before sorting, so
  the sorted row tells where every relevant item ranks. A row in which a relevant item shares its
  score (or differs from a neighbour in that bit only) takes its tie groups from a second value
  sort, or from an argsort in the rare case that does not settle them. Only the 11-point curve
  and the display order (:func:`rank_gallery`, :func:`relevance`) rank every item with an argsort.
* **Memory.** Queries are processed in blocks of at most ``chunk`` rows (default 1024; the value
  sort takes about 2 MB of scores at a time), so peak memory is O(chunk · n_g) besides ``S``.
  Results are bit-identical for every ``chunk`` (per-query values are computed row by row; the PR
  curves are accumulated with exact integer counts plus, for tie groups straddling a cut-off,
  fractions added one group after another in query order).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from paper_lib.errors import UserError

#: queries ranked per block (the ``chunk`` argument of every function here).
#: [choice] 1024 queries per block: for n_g = 6000 one block's int64 ranking (11-point curve,
#: display order) and its temporaries stay around 50 MB each; any value gives the same numbers.
DEFAULT_CHUNK: int = 1024
#: the cut-offs k of :func:`~paper_lib.metrics.retrieval.retrieval_report`.
#: [choice] default cut-offs of the report: 1/5/10 are VM-NET's Recall@K, 30 is the nDCG@30 of
#: "Objects that sound", 100 a deep cut-off for the precision/recall trade-off.
DEFAULT_KS: tuple[int, ...] = (1, 5, 10, 30, 100)
#: the recall levels r = 0.0, 0.1, ..., 1.0 of the 11-point interpolated curve
#:
#: :meta hide-value:
RECALL_LEVELS_11: np.ndarray = np.arange(11) / 10.0


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
def _check_scores(S: object) -> np.ndarray:
    """Return ``S`` as a finite, non-empty 2-d real array (float kept, int/bool -> float64)."""
    A = np.asarray(S)
    if A.dtype == object or np.issubdtype(A.dtype, np.complexfloating):
        raise UserError(f"S must hold real scores, got dtype {A.dtype}.")
    if not np.issubdtype(A.dtype, np.floating):
        A = A.astype(np.float64)
    if A.ndim != 2:
        raise UserError(f"S must be a 2-d (n_queries, n_gallery) score matrix, got shape {A.shape}.")
    if A.shape[0] == 0 or A.shape[1] == 0:
        raise UserError(f"S is empty (shape {A.shape}).")
    # a NaN or an infinity makes the sum non-finite; only then (a sum of finite scores may also
    # overflow) the element-wise test, which allocates an n_q x n_g mask
    with np.errstate(over="ignore", invalid="ignore"):
        suspicious = not np.isfinite(A.sum())
    if suspicious and not np.isfinite(A).all():
        bad = int((~np.isfinite(A)).any(axis=1).sum())
        raise UserError(f"S contains NaN or inf scores in {bad} query row(s).")
    return A


def _check_label_vector(labels: object, name: str, S_shape: tuple[int, ...], axis: int
                        ) -> np.ndarray:
    """Return ``labels`` as a 1-d int64 vector of length ``S.shape[axis]`` or raise naming it."""
    y = np.asarray(labels)
    length = S_shape[axis]
    if y.ndim != 1 or y.shape[0] != length:
        raise UserError(
            f"{name} must be a 1-d label vector of length S.shape[{axis}] = {length}, "
            f"got shape {y.shape}.")
    if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
        raise UserError(f"{name} must hold integer class ids, got dtype {y.dtype}.")
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
        raise UserError(f"{name} must be an integer >= 1, got {k!r}.")
    if k < 1:
        raise UserError(f"{name} must be >= 1, got {k}.")
    return int(min(int(k), n_gallery))


def _check_chunk(chunk: object) -> int | None:
    """``None`` (one block) or a positive integer number of queries per block."""
    if chunk is None:
        return None
    if isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise UserError(f"chunk must be None or an integer >= 1 (queries per block), got {chunk!r}.")
    return int(chunk)


def _check_pair_index(pair_index: object, n_queries: int, n_gallery: int) -> np.ndarray:
    """Gallery index of each query's true partner; default: query i <-> gallery item i."""
    if pair_index is None:
        if n_queries > n_gallery:
            raise UserError(
                f"pair_index=None pairs query i with gallery item i, which needs n_queries <= "
                f"n_gallery; got S of shape ({n_queries}, {n_gallery}). Pass pair_index.")
        return np.arange(n_queries, dtype=np.int64)
    p = np.asarray(pair_index)
    if p.ndim != 1 or p.shape[0] != n_queries:
        raise UserError(
            f"pair_index must be a 1-d vector of length {n_queries} (one partner per query), "
            f"got shape {p.shape}.")
    if not np.issubdtype(p.dtype, np.integer):
        raise UserError(f"pair_index must hold integer gallery indices, got dtype {p.dtype}.")
    if p.size and (p.min() < 0 or p.max() >= n_gallery):
        raise UserError(
            f"pair_index values must lie in [0, {n_gallery}) (gallery indices), "
            f"got min {p.min()} and max {p.max()}.")
    return p.astype(np.int64)


# ---------------------------------------------------------------------------------------------
# the full ranking (display order, the 11-point curve, rows whose ties need an argsort)
# ---------------------------------------------------------------------------------------------
def _query_blocks(n_queries: int, chunk: int | None) -> Iterator[slice]:
    """Consecutive query slices of at most ``chunk`` rows (one slice when ``chunk`` is None)."""
    step = n_queries if chunk is None else chunk
    for start in range(0, n_queries, step):
        yield slice(start, min(start + step, n_queries))


def _rank_block(S_block: np.ndarray, *, stable: bool = True) -> np.ndarray:
    """Descending-score order of each row; with ``stable``, tied items keep gallery order.

    The stable order is what :func:`rank_gallery` and :func:`relevance` return (display). The
    metrics use only the tie groups of a ranking (:class:`_RankedBlock`), never the order inside
    one, so they rank with ``stable=False``.
    """
    # argsort of -S with a stable sort == descending S with ties in ascending gallery index.
    # [choice] the metrics use numpy's default (unstable, vectorised) sort: it is several times
    # faster than the stable merge sort, and the tie groups, hence every metric, are the same for
    # any order of the tied items.
    return np.argsort(-S_block, axis=1, kind="stable" if stable else None)  # (b, n_g) int64


def _positions(n_gallery: int) -> np.ndarray:
    """0-based rank positions 0..n_g-1."""
    return np.arange(n_gallery, dtype=np.int64)


def _ranks(n_gallery: int) -> np.ndarray:
    """Rank positions k = 1..n_g."""
    return np.arange(1, n_gallery + 1, dtype=np.int64)


@dataclass(frozen=True)
class _RankedBlock:
    """One block of queries after a full argsort: relevance and tie groups at every rank.

    Used where a metric needs every rank position (the 11-point curve), for the display order
    (:func:`relevance`) and for the rare rows :func:`_relevant_items` cannot resolve from its value
    sort. ``rel``/``hits`` follow one order of the tied items (gallery order for display, an
    arbitrary one otherwise); a metric may use them only through quantities that are the same
    for every order of the tied items: :meth:`tie_groups`, :attr:`expected_hits`, ``hits`` at the
    last rank of a group, ``n_rel``, and ``rel`` / ``hits`` themselves in rows without ties
    (``tied`` False).
    """

    rows: slice          # which queries
    rel: np.ndarray      # (b, n_g) bool   rel_k: the item at rank k has the query's class
    hits: np.ndarray     # (b, n_g) int64  Σ_{j<=k} rel_j  (number of hits in the top k)
    n_rel: np.ndarray    # (b,)     int64  R: number of relevant gallery items
    last: np.ndarray     # (b, n_g) bool   rank k is the last of its tie group (all True: no ties)
    tied: np.ndarray     # (b,)     bool   the query's scores hold at least one tie

    @property
    def any_tie(self) -> bool:
        return bool(self.tied.any())

    def tie_groups(self, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The tie group of each of the first ``width`` rank positions, each array (b, width):

        * ``start``   0-based rank position of the group's first item;
        * ``stop``    one past the 0-based position of its last item (it may lie beyond width);
        * ``before``  hits ranked above the group;
        * ``through`` hits ranked above the group or in it.

        All four are the same for every order of the tied items.
        """
        start, stop, before, through = self._whole_groups
        return start[:, :width], stop[:, :width], before[:, :width], through[:, :width]

    @cached_property
    def _whole_groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`tie_groups` of every rank position."""
        n_batch, n_gallery = self.hits.shape
        if not self.any_tie:
            positions = _positions(n_gallery)
            return (np.broadcast_to(positions, (n_batch, n_gallery)),
                    np.broadcast_to(positions + 1, (n_batch, n_gallery)),
                    self.hits - self.rel, self.hits)
        # the groups, listed row by row, tile the block; spread each group's values over its ranks
        end_row, end_col = np.nonzero(self.last)
        row_first = np.ones(end_row.size, dtype=bool)       # the row's first group
        row_first[1:] = end_row[1:] != end_row[:-1]
        group_stop = end_col + 1
        group_start = np.where(row_first, 0, np.roll(group_stop, 1))
        group_through = self.hits[end_row, end_col]
        group_before = np.where(row_first, 0, np.roll(group_through, 1))
        size = group_stop - group_start
        start, stop, before, through = (np.repeat(v, size).reshape(n_batch, n_gallery)
                                        for v in (group_start, group_stop, group_before,
                                                  group_through))
        return start, stop, before, through

    @cached_property
    def expected_hits(self) -> np.ndarray:
        """(b, n_g) float64: expected hits in the top k over random orders of the tied items:
        H_before + h · (k - start) / g (= ``hits`` without ties)."""
        if not self.any_tie:
            return self.hits.astype(np.float64)
        n_gallery = self.hits.shape[1]
        start, stop, before, through = self.tie_groups(n_gallery)
        return before + (through - before) * (_ranks(n_gallery) - start) / (stop - start)


def _ranked_blocks(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray,
                   chunk: int | None, *, display: bool = False) -> Iterator[_RankedBlock]:
    """Rank the gallery for each block of queries; derive relevance, hits and the tie groups.

    ``display=True`` ranks tied items in gallery order (:func:`relevance`); the metrics do not
    need it (any order of the tied items gives them the same numbers).
    """
    for rows in _query_blocks(S.shape[0], chunk):
        block = S[rows]
        order = _rank_block(block, stable=display)
        rel = g_labels[order] == q_labels[rows, None]
        hits = np.cumsum(rel, axis=1, dtype=np.int64)
        ranked_scores = np.take_along_axis(block, order, axis=1)
        last = np.empty(order.shape, dtype=bool)
        np.not_equal(ranked_scores[:, 1:], ranked_scores[:, :-1], out=last[:, :-1])
        last[:, -1] = True
        no_tie = np.asarray(last.all(axis=1))                  # every group is one item
        yield _RankedBlock(rows=rows, rel=rel, hits=hits, n_rel=hits[:, -1].copy(), last=last,
                           tied=~no_tie)


# ---------------------------------------------------------------------------------------------
# the metrics' kernel: the tie group of every relevant item, from one value sort per row
# ---------------------------------------------------------------------------------------------
# Every metric but the 11-point curve is a sum, over the relevant items of a query, of a function
# of the item's tie group: ``start`` (items scored strictly higher), ``stop`` (items scored at
# least as high: start + g for a group of g items) and ``through`` (relevant items scored at
# least as high: H_through). These need no argsort of the gallery:
#
# 1. each score's lowest mantissa bit is replaced by the item's relevance and each row is sorted
#    as values (``_tagged_sort``). Clearing that bit moves a score towards zero by at most one
#    unit in the last place, so scores whose cleared values differ keep their strict order: a
#    relevant item neither of whose two neighbours in the sorted row has its cleared value is
#    alone in its tie group and its place in the sorted row is its rank (start = rank - 1,
#    stop = rank, through = its number among the relevant items counted from the top);
# 2. a row where some relevant item has such a neighbour (a tie, or two scores that differ in the
#    lowest bit only) takes its groups from the runs of equal cleared values when these are the
#    runs of equal scores (as many runs as distinct scores: one more value sort of the row), else
#    from a full argsort (:class:`_RankedBlock`); both through ``_group_items``.

#: [choice] scores sorted at a time by the kernel (``chunk`` may lower it): 2^18 (2 MB of
#: int64, 46 rows of a 5,620-item gallery) stay in cache; 1024 such rows were ~1.4x slower
#: (page faults, cache misses), 2^16 to 2^19 scores about equally fast (measured).
_KERNEL_SCORES: int = 1 << 18
#: the byte of a native int64 that holds its lowest bit
_LOW_BYTE = 0 if sys.byteorder == "little" else 7
_NOT_LOWEST_BIT = np.int64(~1)
#: bit pattern of a NaN: the spare last column of a sorted block, equal to no score
_NAN_BITS = int(np.array(np.nan).view(np.int64))


@dataclass(frozen=True)
class _RelevantItems:
    """Every relevant gallery item of a block of queries, placed in its query's ranking by its
    tie group only (hence by nothing that depends on the order of tied items).

    Items are listed query by query, each query's from the top of its ranking down; the h
    relevant items of one tie group are consecutive and share ``start``, ``stop``, ``through``.
    """

    n_gallery: int
    n_rel: np.ndarray    # (b,) int64  R: number of relevant gallery items of each query
    row: np.ndarray      # (m,) int64  the item's query (row of the block); m = Σ R
    start: np.ndarray    # (m,) int64  items ranked strictly above its tie group
    stop: np.ndarray     # (m,) int64  items ranked above its group or in it: start + g
    through: np.ndarray  # (m,) int64  relevant items ranked above its group or in it: H_through

    @cached_property
    def first(self) -> np.ndarray:
        """(b,) index of each query's first (top-ranked) item."""
        return np.cumsum(self.n_rel) - self.n_rel

    @cached_property
    def stop_key(self) -> np.ndarray:
        """(m,) row · (n_g + 1) + stop: ascending, so one search finds a rank in every query."""
        return self.row * (self.n_gallery + 1) + self.stop


def _class_sizes(q_labels: np.ndarray, g_labels: np.ndarray) -> np.ndarray:
    """(n_q,) int64 R: the number of gallery items of each query's class (0 if absent)."""
    classes, counts = np.unique(g_labels, return_counts=True)
    at = np.minimum(np.searchsorted(classes, q_labels), classes.size - 1)
    return np.where(classes[at] == q_labels, counts[at], 0)


def _tagged_sort(block: np.ndarray, rel: np.ndarray) -> np.ndarray:
    """Each row's scores sorted ascending, relevance carried in the lowest mantissa bit.

    Returns (b, n_g + 1) int64: in columns 0..n_g-1 the float64 bit patterns
    (score with its lowest bit cleared) | rel, sorted as float64; in the last column a NaN, so
    that the sorted neighbours of the first and last items of a row are never equal to them.
    """
    b, n_gallery = block.shape
    tagged = np.empty((b, n_gallery + 1), dtype=np.int64)
    tagged[:, -1] = _NAN_BITS
    scores = tagged[:, :-1]
    # float64 is only viewed; float32 -> float64 is exact, a wider float rounds (monotone)
    np.bitwise_and(np.asarray(block, dtype=np.float64).view(np.int64), _NOT_LOWEST_BIT,
                   out=scores)
    np.bitwise_or(scores, rel, out=scores)
    scores.view(np.float64).sort(axis=1)
    return tagged


def _cleared(tagged: np.ndarray) -> np.ndarray:
    """The scores of tagged bit patterns with the relevance bit cleared, as float64 (compared as
    floats, so -0.0 == 0.0 like the scores themselves)."""
    return np.bitwise_and(tagged, _NOT_LOWEST_BIT).view(np.float64)


def _best_first_relevance(tagged: np.ndarray) -> np.ndarray:
    """(b, n_g) bool rel_k in ranked order (best first) of a :func:`_tagged_sort` result."""
    b, width = tagged.shape
    low_byte = tagged.view(np.uint8).reshape(b, width, 8)[:, -2::-1, _LOW_BYTE]
    return np.bitwise_and(low_byte, 1).view(bool)


def _sharing_rows(tagged: np.ndarray, row: np.ndarray, start: np.ndarray) -> np.ndarray:
    """(b,) bool: some relevant item (``row``, rank position ``start``) of the row has a sorted
    neighbour with its cleared value (a tie, or scores differing in the lowest bit only)."""
    b, width = tagged.shape
    flat = tagged.reshape(-1)
    # flat position of the item in the ascending sort; its neighbours at +-1 are scores of its
    # row or a NaN column (of its row, of the previous row, or of the last row for at = 0)
    at = row * width + (width - 2 - start)
    own = _cleared(flat[at])
    shared = (_cleared(flat[at - 1]) == own) | (_cleared(flat[at + 1]) == own)
    sharing = np.zeros(b, dtype=bool)
    sharing[row[shared]] = True
    return sharing


def _group_items(group_first: np.ndarray, rel: np.ndarray, n_rel: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``start``, ``stop``, ``through`` of every relevant item of some rows, row by row, best first.

    ``group_first`` (b, n_g) bool marks the ranks that start a tie group (rank 1 always does),
    ``rel`` (b, n_g) bool the relevant ranks, both in ranked order; ``n_rel`` (b,) their counts.
    """
    b, n_gallery = rel.shape
    # flat positions of every group's first rank, then the end: the group of flat position x
    # is [bounds[i - 1], bounds[i]) with i = searchsorted(bounds, x, "right")
    bounds = np.append(np.flatnonzero(group_first), b * n_gallery)
    items = np.flatnonzero(rel)
    group = np.searchsorted(bounds, items, side="right")
    group_begin, group_end = bounds[group - 1], bounds[group]
    row = np.repeat(np.arange(b), n_rel)
    origin = row * n_gallery                                   # flat position of the row's rank 1
    first = np.cumsum(n_rel) - n_rel
    # H_through = relevant items of the row before the group's end
    through = np.searchsorted(items, group_end) - first[row]
    return group_begin - origin, group_end - origin, through


def _relevant_items(block: np.ndarray, q_rows: np.ndarray, g_labels: np.ndarray,
                    n_rel: np.ndarray) -> _RelevantItems:
    """The tie group of every relevant item of a block of queries (see the section comment);
    ``n_rel`` holds the queries' R (:func:`_class_sizes`)."""
    b, n_gallery = block.shape
    rel = g_labels[None, :] == q_rows[:, None]                # (b, n_g) gallery order
    tagged = _tagged_sort(block, rel)
    ranked_rel = _best_first_relevance(tagged)
    row = np.repeat(np.arange(b), n_rel)
    # 1. alone in its group: rank position from the sorted row, H_through = its count from the top
    start = np.flatnonzero(ranked_rel) - row * n_gallery
    stop = start + 1
    through = np.arange(row.size) - np.repeat(np.cumsum(n_rel) - n_rel, n_rel) + 1
    sharing = _sharing_rows(tagged, row, start)
    if sharing.any():
        # 2. rows with a shared cleared value: runs of equal cleared values, best first ...
        cleared = _cleared(tagged[sharing, :-1])[:, ::-1]
        group_first = np.ones(cleared.shape, dtype=bool)
        np.not_equal(cleared[:, 1:], cleared[:, :-1], out=group_first[:, 1:])
        # ... are the tie groups when there are as many runs as distinct scores (in S's own
        # precision: a wider float may have merged in float64)
        scores = block[sharing]
        ordered = np.sort(scores, axis=1)
        distinct = 1 + np.count_nonzero(ordered[:, 1:] != ordered[:, :-1], axis=1)
        unresolved = np.count_nonzero(group_first, axis=1) != distinct
        if unresolved.any():                   # scores one unit apart: rank these rows fully
            ranked = next(_ranked_blocks(scores[unresolved], q_rows[sharing][unresolved],
                                         g_labels, None))
            group_first[unresolved, 1:] = ranked.last[:, :-1]
            ranked_rel[np.flatnonzero(sharing)[unresolved]] = ranked.rel
        mine = sharing[row]
        start[mine], stop[mine], through[mine] = _group_items(
            group_first, ranked_rel[sharing], n_rel[sharing])
    return _RelevantItems(n_gallery=n_gallery, n_rel=n_rel, row=row, start=start, stop=stop,
                          through=through)


def _item_blocks(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, chunk: int | None
                 ) -> Iterator[tuple[slice, _RelevantItems]]:
    """The relevant items of each block of at most ``chunk`` queries (and ``_KERNEL_SCORES``
    scores)."""
    n_rel = _class_sizes(q_labels, g_labels)
    fitting = max(1, _KERNEL_SCORES // S.shape[1])
    step = fitting if chunk is None else min(chunk, fitting)
    for rows in _query_blocks(S.shape[0], step):
        yield rows, _relevant_items(S[rows], q_labels[rows], g_labels, n_rel[rows])


# ---------------------------------------------------------------------------------------------
# per-query values on one block (NaN where R = 0)
# ---------------------------------------------------------------------------------------------
# [choice] the tie rules (module docstring): AP as scikit-learn (a tie group is one threshold);
# P@k, R@k, nDCG@k, the PR curve and the true-pair Recall@K as the exact expectation over a
# uniformly random order of the tied items; MRR as the exact expectation of 1/rank of the first
# relevant item over random orders of its tie group; the 11-point curve interpolates the
# expected curve. All depend on the tie groups only, so no number depends on gallery order, and
# a collapsed embedding scores chance (MAP = P@k = class prevalence), not a gallery-order bonus.
def _nan_where_no_relevant(values: np.ndarray, n_rel: np.ndarray) -> np.ndarray:
    """Mark the queries whose class is absent from the gallery (R = 0) as undefined."""
    # [choice] one rule for every label-based average: R = 0 queries are dropped (even from P@k,
    # where 0 would be defined), so all numbers of a report average over the same queries.
    # In the paper's paired test folds R >= 1 always (the query's own partner is relevant).
    values[n_rel == 0] = np.nan
    return values


def _sum_by_query(items: _RelevantItems, values: np.ndarray) -> np.ndarray:
    """(b,) the sum of ``values`` (one per item) over each query's items (0 where R = 0). Each
    query's sum depends on its own items only."""
    summed = np.zeros(items.n_rel.size)
    some = items.n_rel > 0
    if some.any():        # reduceat needs increasing starts: queries without items left out
        summed[some] = np.add.reduceat(values, items.first[some])
    return summed


def _ap_rows(items: _RelevantItems) -> np.ndarray:
    """AP = (1/R) Σ_groups h · (hits through the group / items through the group).

    Each of a group's h relevant items adds H_through / stop; without ties that is
    (1/R) Σ_k P@k · rel_k with P@k = hits_k / k (scikit-learn's definition either way).
    """
    summed = _sum_by_query(items, items.through / items.stop)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_no_relevant(summed / items.n_rel, items.n_rel)


def _expected_hits_at(items: _RelevantItems, k: int) -> np.ndarray:
    """(b,) expected hits in the top k over random orders of the tied items:
    H_before + h · (k - start) / g for the group holding rank k (H_before alone if it holds no
    relevant item), H_before = relevant items of the groups that end by rank k."""
    n_batch = items.n_rel.size
    if items.row.size == 0:
        return np.zeros(n_batch)
    # per query, the first item whose group ends below rank k (keys of other queries lie outside)
    after = np.searchsorted(items.stop_key, np.arange(n_batch) * (items.n_gallery + 1) + k,
                            side="right")
    before = after - items.first
    at = np.minimum(after, items.row.size - 1)
    start, stop = items.start[at], items.stop[at]
    straddles = (after < items.first + items.n_rel) & (start < k)
    h = items.through[at] - before
    expected = before.astype(np.float64)
    expected[straddles] += (h * (k - start))[straddles] / (stop - start)[straddles]
    return expected


def _precision_rows(items: _RelevantItems, k: int) -> np.ndarray:
    """P@k = (expected) hits in the top k / k."""
    return _nan_where_no_relevant(_expected_hits_at(items, k) / k, items.n_rel)


def _recall_rows(items: _RelevantItems, k: int) -> np.ndarray:
    """R@k = (expected) hits in the top k / R."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_no_relevant(_expected_hits_at(items, k) / items.n_rel, items.n_rel)


def _reciprocal_rank_rows(items: _RelevantItems) -> np.ndarray:
    """E[1 / rank of the first relevant item] over random orders of its tie group.

    The first tie group holding a relevant item starts after rank s and has g items, h of them
    relevant; the first relevant item is at rank s + 1 + j with probability
    P(j) = C(g-1-j, h-1) / C(g, h), j = 0..g-h (P(0) = h/g, P(j+1)/P(j) = (g-h-j)/(g-1-j)).
    """
    out = np.full(items.n_rel.size, np.nan)
    valid = items.n_rel > 0
    top = items.first[valid]                          # each query's first item
    s = items.start[top]
    g = items.stop[top] - s
    h = items.through[top]                            # no relevant item above the first group
    value = 1.0 / (s + 1)                             # exact when its group is one item
    group = g > 1
    if group.any():
        # one computation per distinct (s, g, h): massive ties repeat them across queries
        keys = np.stack([s[group], g[group], h[group]], axis=1)
        distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
        value[group] = _expected_reciprocal_rank(*distinct.T)[inverse.reshape(-1)]
    out[valid] = value
    return out


def _expected_reciprocal_rank(s: np.ndarray, g: np.ndarray, h: np.ndarray) -> np.ndarray:
    """E[1 / (s + 1 + J)], P(J = j) = C(g-1-j, h-1) / C(g, h), j = 0..g-h, for each (s, g, h).

    Row by row sequential products and sums, so a value depends on its own (s, g, h) only.
    """
    width = int((g - h).max()) + 1
    j = _positions(width)[None, :-1]                            # offsets 0..width-2
    # P(j+1) / P(j) = (g-h-j) / (g-1-j); 0 beyond the support j = g - h
    ratio = np.maximum((g - h)[:, None] - j, 0) / np.maximum((g - 1)[:, None] - j, 1)
    prob = np.empty((g.size, width))
    prob[:, 0] = h / g                                          # P(0)
    prob[:, 1:] = ratio
    np.cumprod(prob, axis=1, out=prob)                          # P(j)
    prob /= s[:, None] + 1 + _positions(width)[None, :]         # P(j) / rank
    return np.cumsum(prob, axis=1)[:, -1]                       # sequential: width-independent


def _ndcg_rows(items: _RelevantItems, k: int) -> np.ndarray:
    """nDCG@k with binary gains: DCG = Σ_{i<=k} gain_i / log2(i+1); IDCG puts min(k, R) hits first.

    gain_i = rel_i without ties; in a tie group of g items with h hits every position has the
    expected gain h / g (so a group straddling k counts in proportion): each of its h relevant
    items adds (1/g) Σ_{positions of the group within the top k} 1 / log2(i + 1).
    """
    discount = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))  # (k,) 1/log2(i+1)
    prefix = np.concatenate([[0.0], np.cumsum(discount)])            # Σ of the first 0..k
    top = items.start < k                                            # groups reaching the top k
    start, stop = items.start[top], items.stop[top]
    size = stop - start
    gain = np.where(size == 1, discount[start],                      # alone: its own discount
                    (prefix[np.minimum(stop, k)] - prefix[start]) / size)
    dcg = np.bincount(items.row[top], weights=gain, minlength=items.n_rel.size)
    idcg = prefix[np.minimum(items.n_rel, k)]                        # IDCG for 0..k hits
    with np.errstate(invalid="ignore", divide="ignore"):
        return _nan_where_no_relevant(dcg / idcg, items.n_rel)


def _eleven_point_rows(b: _RankedBlock) -> np.ndarray:
    """Per query, p_interp(r) = max_{k: recall_k >= r} P@k at r = 0, 0.1, ..., 1.  -> (b, 11).

    P@k and recall_k are the tie-aware (expected) values of every cut-off k.
    """
    n_gallery = b.hits.shape[1]
    precision = b.expected_hits / _ranks(n_gallery)
    # best_after[:, k] = max_{k' >= k} P@k'  (suffix maximum)
    best_after = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    # recall_k >= l/10  <=>  E_k >= l·R/10. E_k is non-decreasing, so the qualifying cut-offs are
    # [first_l, n_g). Without ties E_k = hits_k and first_l is the rank index of the m_l-th
    # relevant item, m_l = ceil(l·R/10) (exact integers: no 0.1·3 != 0.3; index 0 when m_l = 0).
    levels = np.arange(RECALL_LEVELS_11.size)                           # l = 0..10
    needed = (levels[None, :] * b.n_rel[:, None] + 9) // 10             # (b, 11) m_l
    _, hit_cols = np.nonzero(b.rel)                                     # rank index of each hit
    hit_cols = np.append(hit_cols, 0)  # sentinel: lookups of R = 0 rows land here (m_l = 0 anyway)
    row_start = np.concatenate([[0], np.cumsum(b.n_rel)[:-1]])          # (b,) row offset in hits
    # m_l >= 1 -> rank index of the row's m_l-th hit; m_l = 0 -> index 0 (every cut-off qualifies)
    nth_hit = np.minimum(row_start[:, None] + np.maximum(needed - 1, 0), hit_cols.size - 1)
    first = np.where(needed > 0, hit_cols[nth_hit], 0)                  # (b, 11)
    if b.any_tie:
        # with ties the m_l-th hit (of any order) lies in the tie group G whose cut-offs cross
        # the level: inside G, E_k = before + h·(k - start)/g >= l·R/10 from
        # k = start + ceil((l·R - 10·before)·g / (10·h)) on (exact integer ceiling; >= 1 item)
        start, stop, before, through = (np.take_along_axis(a, first, axis=1)
                                        for a in b.tie_groups(n_gallery))
        over = (levels[None, :] * b.n_rel[:, None] - 10 * before) * (stop - start)
        inside = -(-over // np.maximum(10 * (through - before), 1))     # ceil, items of G
        first = np.where(needed > 0, start + np.maximum(inside, 1) - 1, 0)
    out = np.take_along_axis(best_after, first, axis=1)                 # (b, 11)
    out[b.n_rel == 0] = np.nan
    return out


def _pair_group_rows(scores: np.ndarray, partner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per query: gallery items scored strictly above the true partner, and the size of the
    partner's tie group (items scored exactly like it, itself included). Order-free."""
    own = scores[np.arange(scores.shape[0]), partner][:, None]
    return (scores > own).sum(axis=1), (scores == own).sum(axis=1)


def _pair_hit_rows(above: np.ndarray, size: np.ndarray, k: int) -> np.ndarray:
    """P(true partner in the top k) over random orders of its tie group: the fraction of the
    group inside the top k (1 or 0 without ties)."""
    return np.clip((k - above) / size, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------------
def _mean_over_valid(values: np.ndarray, what: str) -> float:
    """Mean over the queries with R > 0 (NaN entries); error if there are none."""
    valid = ~np.isnan(values)
    if not valid.any():
        raise UserError(
            f"cannot compute {what}: no query has a relevant gallery item "
            f"(no query class occurs in g_labels).")
    return float(values[valid].mean())


def _collect(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, chunk: int | None,
             per_block: Callable[[_RankedBlock], np.ndarray], *,
             display: bool = False) -> np.ndarray:
    """Apply a per-block function to every fully ranked query block; concatenate the results."""
    return np.concatenate([per_block(b) for b in _ranked_blocks(S, q_labels, g_labels, chunk,
                                                                 display=display)])


def _collect_items(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, chunk: int | None,
                   per_block: Callable[[_RelevantItems], np.ndarray]) -> np.ndarray:
    """Apply a per-block function to the relevant items of every query block; concatenate."""
    return np.concatenate([per_block(items)
                           for _, items in _item_blocks(S, q_labels, g_labels, chunk)])


class _PRSums:
    """Sums for the query-averaged PR curve, identical for every chunk size.

    precision_k = (1/n) Σ_i E_ik / k  = (Σ_i E_ik) / (k · n)
    recall_k    = (1/n) Σ_i E_ik / R_i = (1/n) Σ_r (Σ_{i: R_i = r} E_ik) / r

    E_ik = expected hits of query i in the top k = Σ over its relevant items of
    clip((k - start) / g, 0, 1) = (items whose group ends by rank k: an integer) + h·(k - start)/g
    for the group straddling k. The integer part is an exact int64 count, by R, of the items'
    ``stop`` (a cumulative sum over k turns it into "ends by k"); the fractional part (ties
    only) is added to float sums one tie group after another, in query order, so the rounding
    does not depend on how the queries are blocked.
    """

    def __init__(self, n_gallery: int, r_values: np.ndarray) -> None:
        self.n_gallery = n_gallery
        self.r_values = r_values                 # the distinct R > 0 of the queries, ascending
        shape = (r_values.size, n_gallery + 1)   # by R, by rank 0..n_g
        self.stops = np.zeros(shape, dtype=np.int64)
        self.fractions = np.zeros(shape, dtype=np.float64)
        self.n_valid = 0

    def add(self, items: _RelevantItems) -> None:
        width = self.n_gallery + 1
        self.n_valid += int(np.count_nonzero(items.n_rel))
        by_r = np.searchsorted(self.r_values, items.n_rel)[items.row]   # each item's R, as index
        self.stops += np.bincount(by_r * width + items.stop,
                                  minlength=self.stops.size).reshape(self.stops.shape)
        # tie groups of g > 1 items, each once (its first item): h · j / g at rank start + j,
        # j = 1..g-1
        lead = items.stop - items.start > 1
        lead[1:] &= (items.start[1:] != items.start[:-1]) | (items.row[1:] != items.row[:-1])
        if lead.any():
            at = np.flatnonzero(lead)
            start, g = items.start[at], items.stop[at] - items.start[at]
            h = items.through[at] - (at - items.first[items.row[at]])   # minus the items above
            group = np.repeat(np.arange(at.size), g - 1)
            j = np.arange(group.size) - np.repeat(np.cumsum(g - 1) - (g - 1), g - 1) + 1
            np.add.at(self.fractions.reshape(-1), by_r[at][group] * width + start[group] + j,
                      h[group] * j / g[group])

    def curves(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n_valid == 0:
            raise UserError("cannot compute the PR curve: no query has a relevant gallery item.")
        ended = np.cumsum(self.stops, axis=1)[:, 1:]          # items whose group ends by rank k
        fractions = self.fractions[:, 1:]
        precision = ((ended.sum(axis=0) + fractions.sum(axis=0))
                     / (_ranks(self.n_gallery) * self.n_valid))
        recall = np.zeros(self.n_gallery, dtype=np.float64)
        for r, ended_r, fractions_r in zip(self.r_values.tolist(), ended, fractions,
                                           strict=True):
            recall += (ended_r + fractions_r) / r
        return precision, recall / self.n_valid


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
def rank_gallery(S: np.ndarray, *, chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    """Rank the whole gallery for every query by descending score (the display order).

    Ties are broken **stably**: tied gallery items keep gallery order (lower gallery index
    first). This is the order pages *show* (e.g. a top-k of retrieval examples); **no metric of
    this module depends on the order of tied items**: each uses the tie groups only (module
    docstring), so reordering the gallery never changes a number.

    Returns (n_q, n_g) int64: ``rank_gallery(S)[i, k]`` is the gallery index at rank k+1 for
    query i.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> rank_gallery(S).tolist()
    [[0, 2, 1], [0, 2, 1]]
    """
    Sa = _check_scores(S)
    step = _check_chunk(chunk)
    return np.concatenate([_rank_block(Sa[rows]) for rows in _query_blocks(Sa.shape[0], step)])


def relevance(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
              chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    """(n_q, n_g) bool, in the display order of :func:`~paper_lib.metrics.retrieval.rank_gallery`: ``[i, k]`` = the item at
    rank k+1 has query i's class (within a tie group this follows gallery order).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> relevance(S, q_labels, g_labels).tolist()
    [[True, False, False], [False, True, True]]
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    return _collect(Sa, ql, gl, _check_chunk(chunk), lambda b: b.rel, display=True)


def count_dropped_queries(q_labels: np.ndarray, g_labels: np.ndarray) -> int:
    """Number of queries whose class is absent from the gallery (R = 0): the queries every
    label-based average in this module ignores."""
    ql = np.asarray(q_labels)
    gl = np.asarray(g_labels)
    if ql.ndim != 1:
        raise UserError(f"q_labels must be a 1-d label vector, got shape {ql.shape}.")
    if gl.ndim != 1:
        raise UserError(f"g_labels must be a 1-d label vector, got shape {gl.shape}.")
    return int((~np.isin(ql, gl)).sum())


def average_precision(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                      chunk: int | None = DEFAULT_CHUNK) -> np.ndarray:
    """Per-query AP over the full ranking, equal to scikit-learn's ``average_precision_score``.

    AP_i = (1/R_i) Σ_{k=1..n_g} P@k · rel_k without ties, R_i the number of gallery items of
    query i's class (its own partner included). A tie group is one threshold: with h relevant
    items it contributes (h / R_i) · (hits through the group / items through the group), so the
    value does not depend on the order of tied items. Never truncated. Returns (n_q,) float64
    with **NaN for queries whose class is absent from the gallery** (R_i = 0).

    Examples
    --------
    Query 0 finds its one relevant item first (AP = 1); query 1 finds its two relevant items at
    ranks 2 and 3 (AP = (1/2 + 2/3) / 2 = 7/12):

    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> average_precision(S, q_labels, g_labels).round(4).tolist()
    [1.0, 0.5833]
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    return _collect_items(Sa, ql, gl, _check_chunk(chunk), _ap_rows)


def mean_average_precision(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                           chunk: int | None = DEFAULT_CHUNK) -> float:
    """MAP = mean of :func:`~paper_lib.metrics.retrieval.average_precision` over the queries with R > 0.

    Queries whose class is absent from the gallery are ignored; :func:`count_dropped_queries`
    says how many (``retrieval_report`` records it as ``"n_dropped"``).

    Parameters
    ----------
    S : ndarray of shape (n_q, n_g)
        Scores of every gallery item for every query, higher = more similar (e.g. from
        :func:`paper_lib.metrics.similarity.similarity`).
    q_labels : ndarray of shape (n_q,)
        Integer class id of every query.
    g_labels : ndarray of shape (n_g,)
        Integer class id of every gallery item.
    chunk : int or None, default=DEFAULT_CHUNK
        Queries ranked per block (memory only: every value gives the same result).

    Returns
    -------
    float
        The mean average precision over the full ranking.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> round(mean_average_precision(S, q_labels, g_labels), 4)     # (1 + 7/12) / 2
    0.7917
    """
    return _mean_over_valid(average_precision(S, q_labels, g_labels, chunk=chunk), "MAP")


def precision_at_k(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int, *,
                   chunk: int | None = DEFAULT_CHUNK) -> float:
    """Mean over queries (R > 0) of P@k = (relevant items in the top k) / k; k clipped to n_g.

    With ties: the expectation over random orders of the tied items (a tie group straddling k
    counts with the fraction of it inside the top k).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> precision_at_k(S, q_labels, g_labels, k=1)
    0.5
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    kk = _check_k(k, Sa.shape[1])
    values = _collect_items(Sa, ql, gl, _check_chunk(chunk),
                            lambda items: _precision_rows(items, kk))
    return _mean_over_valid(values, f"precision@{k}")


def recall_at_k(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int, *,
                chunk: int | None = DEFAULT_CHUNK) -> float:
    """Mean over queries (R > 0) of R@k = (relevant items in the top k) / R; k clipped to n_g.

    With ties: the expectation over random orders of the tied items, as :func:`precision_at_k`.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> recall_at_k(S, q_labels, g_labels, k=2)       # (1/1 + 1/2) / 2
    0.75
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    kk = _check_k(k, Sa.shape[1])
    values = _collect_items(Sa, ql, gl, _check_chunk(chunk),
                            lambda items: _recall_rows(items, kk))
    return _mean_over_valid(values, f"recall@{k}")


def pr_curve(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
             chunk: int | None = DEFAULT_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Query-averaged precision and recall at every rank cut-off k = 1..n_g.

    ``precision[k-1]`` = mean_i hits_i(k)/k and ``recall[k-1]`` = mean_i hits_i(k)/R_i over the
    queries with R_i > 0, hits_i(k) being the expected hits in the top k over random orders of
    tied items (the plain count without ties). Both are averaged at the *same cut-off* (not at
    the same recall), so ``recall[-1] == 1`` and ``precision[-1]`` = mean_i R_i / n_g (the class
    prevalence in the gallery seen by the average query). Returns ``(precision, recall)``, each
    (n_g,) float64.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> precision, recall = pr_curve(S, q_labels, g_labels)
    >>> precision.tolist(), recall.tolist()
    ([0.5, 0.5, 0.5], [0.5, 0.75, 1.0])
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    n_rel = _class_sizes(ql, gl)
    sums = _PRSums(Sa.shape[1], np.unique(n_rel[n_rel > 0]))
    for _, items in _item_blocks(Sa, ql, gl, _check_chunk(chunk)):
        sums.add(items)
    return sums.curves()


@dataclass(frozen=True)
class RankingSummary:
    """MAP, P@k and the PR curve of one score matrix, from one pass.

    Returned by :func:`~paper_lib.metrics.retrieval.ranking_summary`.

    Attributes
    ----------
    map : float
        MAP over the full ranking
        (as :func:`~paper_lib.metrics.retrieval.mean_average_precision`).
    precision_at_k : float
        Mean P@k (as :func:`~paper_lib.metrics.retrieval.precision_at_k`).
    precision, recall : ndarray of shape (n_g,)
        Precision and recall at every cut-off (as :func:`~paper_lib.metrics.retrieval.pr_curve`).
    """

    map: float
    precision_at_k: float
    precision: np.ndarray
    recall: np.ndarray


def ranking_summary(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int = 10, *,
                    chunk: int | None = DEFAULT_CHUNK) -> RankingSummary:
    """MAP, P@k and the PR curve at every rank from ONE value sort per query row: the same
    numbers as :func:`~paper_lib.metrics.retrieval.mean_average_precision`,
    :func:`~paper_lib.metrics.retrieval.precision_at_k` and
    :func:`~paper_lib.metrics.retrieval.pr_curve`
    (each of which sorts the rows again), at about the cost of one of them.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> summary = ranking_summary(S, q_labels, g_labels, k=1)
    >>> round(summary.map, 4), summary.precision_at_k, summary.recall.tolist()
    (0.7917, 0.5, [0.5, 0.75, 1.0])
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    kk = _check_k(k, Sa.shape[1])
    n_rel = _class_sizes(ql, gl)
    sums = _PRSums(Sa.shape[1], np.unique(n_rel[n_rel > 0]))
    ap, p_at_k = [], []
    for _, items in _item_blocks(Sa, ql, gl, _check_chunk(chunk)):
        ap.append(_ap_rows(items))
        p_at_k.append(_precision_rows(items, kk))
        sums.add(items)
    precision, recall = sums.curves()
    return RankingSummary(_mean_over_valid(np.concatenate(ap), "MAP"),
                          _mean_over_valid(np.concatenate(p_at_k), f"precision@{k}"),
                          precision, recall)


def interpolated_pr_11(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                       chunk: int | None = DEFAULT_CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Standard 11-point interpolated precision-recall curve.

    Per query: p_interp(r) = max{P@k : recall@k >= r} for r = 0, 0.1, ..., 1 over that query's
    tie-aware P@k / recall@k curve (recall compared in exact integer arithmetic); then averaged
    over the queries with R > 0. Returns ``(recall_levels, precision)``, each (11,); the
    precision is non-increasing.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> levels, precision = interpolated_pr_11(S, q_labels, g_labels)
    >>> levels[[0, 5, 10]].tolist(), precision[[0, 5, 10]].round(4).tolist()
    ([0.0, 0.5, 1.0], [0.8333, 0.8333, 0.8333])
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    per_query = _collect(Sa, ql, gl, _check_chunk(chunk), _eleven_point_rows)  # (n_q, 11)
    valid = ~np.isnan(per_query[:, 0])
    if not valid.any():
        raise UserError("cannot compute the 11-point curve: no query has a relevant gallery item.")
    return RECALL_LEVELS_11.copy(), per_query[valid].mean(axis=0)


def recall_at_k_true_pair(S: np.ndarray, k: int, pair_index: np.ndarray | None = None, *,
                          chunk: int | None = DEFAULT_CHUNK) -> float:
    """VM-NET Recall@K: fraction of queries whose true partner is among the top k.

    The partner of query i is gallery item ``pair_index[i]`` (default: item i, the paired clip of
    the same test fold). Labels play no role; every query counts. With ties: the probability
    over random orders of the tied items, i.e. a partner whose tie group straddles k counts with
    the fraction of the group inside the top k.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1],            # query i's partner is gallery item i
    ...               [0.8, 0.3]])
    >>> recall_at_k_true_pair(S, k=1), recall_at_k_true_pair(S, k=2)
    (0.5, 1.0)
    """
    Sa = _check_scores(S)
    kk = _check_k(k, Sa.shape[1])
    partner = _check_pair_index(pair_index, *Sa.shape)
    step = _check_chunk(chunk)
    found = [_pair_hit_rows(*_pair_group_rows(Sa[rows], partner[rows]), kk)
             for rows in _query_blocks(Sa.shape[0], step)]
    return float(np.concatenate(found).mean())


def ndcg_at_k(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, k: int, *,
              chunk: int | None = DEFAULT_CHUNK) -> float:
    """Mean nDCG@k over queries with R > 0 ("Objects that sound" protocol, binary relevance).

    DCG@k = Σ_{i=1..k} rel_i / log2(i + 1); IDCG@k = Σ_{i=1..min(k, R)} 1 / log2(i + 1). With
    ties: the expected DCG over random orders of the tied items (gain h / g at every position of
    a tie group of g items with h hits).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> round(ndcg_at_k(S, q_labels, g_labels, k=2), 4)
    0.6934
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    kk = _check_k(k, Sa.shape[1])
    values = _collect_items(Sa, ql, gl, _check_chunk(chunk),
                            lambda items: _ndcg_rows(items, kk))
    return _mean_over_valid(values, f"nDCG@{k}")


def mean_reciprocal_rank(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                         chunk: int | None = DEFAULT_CHUNK) -> float:
    """MRR: mean over queries with R > 0 of 1 / (rank of the first relevant gallery item).

    With ties: the exact expectation over random orders of the first tie group holding a
    relevant item (see ``_reciprocal_rank_rows``).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> mean_reciprocal_rank(S, q_labels, g_labels)      # (1/1 + 1/2) / 2
    0.75
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    values = _collect_items(Sa, ql, gl, _check_chunk(chunk), _reciprocal_rank_rows)
    return _mean_over_valid(values, "MRR")


def per_class_ap(S: np.ndarray, q_labels: np.ndarray, g_labels: np.ndarray, *,
                 chunk: int | None = DEFAULT_CHUNK) -> dict[int, float]:
    """Mean AP of the queries of each query class, ``{class id: mean AP}`` in class order.

    A class absent from the gallery maps to NaN (all its queries have R = 0).

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> {c: round(ap, 4) for c, ap in per_class_ap(S, q_labels, g_labels).items()}
    {0: 1.0, 1: 0.5833}
    """
    ap = average_precision(S, q_labels, g_labels, chunk=chunk)
    ql = np.asarray(q_labels).astype(np.int64)
    # [choice] classes absent from the gallery are kept with NaN (visible, not silently hidden);
    # all queries of a class share R, so a class mean is either all-NaN or NaN-free.
    return {int(c): float(ap[ql == c].mean()) for c in np.unique(ql)}


def report_names(ks: Sequence[int] = DEFAULT_KS, *, include_pairs: bool = True) -> list[str]:
    """The keys of :func:`~paper_lib.metrics.retrieval.retrieval_report`, in order (stable, lower case).

    Examples
    --------
    >>> report_names(ks=(1,), include_pairs=False)
    ['map', 'mrr', 'p@1', 'r@1', 'ndcg@1', 'n_queries', 'n_dropped']
    """
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
    identical to the single-metric functions, tie rules included (module docstring): no value
    depends on the order of tied gallery items.

    Parameters
    ----------
    S : ndarray of shape (n_q, n_g)
        Scores of every gallery item for every query, higher = more similar.
    q_labels : ndarray of shape (n_q,)
        Integer class id of every query.
    g_labels : ndarray of shape (n_g,)
        Integer class id of every gallery item.
    ks : iterable of int, default=DEFAULT_KS
        The cut-offs k of the ``p@k``, ``r@k``, ``ndcg@k`` and ``pair_r@k`` entries.
    pair_index : ndarray of shape (n_q,), optional
        Gallery index of each query's true partner (default: item i for query i).
    include_pairs : bool, default=True
        Add the ``pair_r@k`` entries (needs a partner for every query).
    chunk : int or None, default=DEFAULT_CHUNK
        Queries ranked per block (memory only).

    Returns
    -------
    dict of str to float
        One value per name of :func:`report_names`, in that order.

    Examples
    --------
    >>> import numpy as np
    >>> S = np.array([[0.9, 0.1, 0.5],      # 2 queries x 3 gallery items, higher = closer
    ...               [0.9, 0.2, 0.7]])
    >>> q_labels, g_labels = np.array([0, 1]), np.array([0, 1, 1])
    >>> report = retrieval_report(S, q_labels, g_labels, ks=(1,), include_pairs=False)
    >>> {name: round(value, 4) for name, value in report.items()}
    {'map': 0.7917, 'mrr': 0.75, 'p@1': 0.5, 'r@1': 0.5, 'ndcg@1': 0.5, 'n_queries': 2.0, 'n_dropped': 0.0}
    """
    Sa, ql, gl = _check_inputs(S, q_labels, g_labels)
    # one entry per distinct requested k, in the given order; each clipped to the gallery size
    ks_list = list(dict.fromkeys(int(k) if isinstance(k, np.integer) else k for k in ks))
    clipped = {k: _check_k(k, Sa.shape[1], name="ks entry") for k in ks_list}
    partner = _check_pair_index(pair_index, *Sa.shape) if include_pairs else None
    step = _check_chunk(chunk)

    # per-query values, block by block, all from the same ranking (NaN where R = 0)
    per_query: dict[str, list[np.ndarray]] = {"map": [], "mrr": []}
    pair_groups: list[tuple[np.ndarray, np.ndarray]] = []
    for rows, items in _item_blocks(Sa, ql, gl, step):
        per_query["map"].append(_ap_rows(items))
        per_query["mrr"].append(_reciprocal_rank_rows(items))
        for k, kk in clipped.items():
            per_query.setdefault(f"p@{k}", []).append(_precision_rows(items, kk))
            per_query.setdefault(f"r@{k}", []).append(_recall_rows(items, kk))
            per_query.setdefault(f"ndcg@{k}", []).append(_ndcg_rows(items, kk))
        if partner is not None:
            pair_groups.append(_pair_group_rows(Sa[rows], partner[rows]))

    values = {name: _mean_over_valid(np.concatenate(parts), name)
              for name, parts in per_query.items()}
    if partner is not None:
        above = np.concatenate([a for a, _ in pair_groups])  # (n_q,) items above the partner
        size = np.concatenate([g for _, g in pair_groups])   # (n_q,) size of the partner's group
        values.update({f"pair_r@{k}": float(_pair_hit_rows(above, size, kk).mean())
                       for k, kk in clipped.items()})
    values["n_queries"] = float(Sa.shape[0])
    values["n_dropped"] = float(np.isnan(np.concatenate(per_query["map"])).sum())
    # the documented key order
    return {name: values[name] for name in report_names(ks_list, include_pairs=include_pairs)}
